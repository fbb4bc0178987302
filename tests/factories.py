"""Small keyword-only factories that create data through the API, as the storefront does."""

import itertools
from datetime import date

import httpx

from app.core.crypto import Keys
from app.partners.models import SECRET, Partner, PartnerKind

_numbers = itertools.count(1)

KNOWN_PARTNERS = {"swiftship": PartnerKind.LOGISTICS, "othership": PartnerKind.LOGISTICS,
                  "fastfreight": PartnerKind.LOGISTICS, "paypal": PartnerKind.PAYMENT,
                  "nobody-ships": PartnerKind.LOGISTICS, "stripe": PartnerKind.PAYMENT}
"""Registered for every test (tests/conftest.py): the partners existing tests name."""

PARTNER_SECRET = "whsec_test-secret"


def partner_row(keys: Keys, *, partner_id: str, kind: PartnerKind, **overrides) -> Partner:
    """An active partner row with the signing secret `PARTNER_SECRET`."""
    values = {"id": partner_id, "kind": kind, "display_name": f"{partner_id} Ltd.",
              "agreement_reference": f"DPA-{partner_id}", "agreement_starts_on": date(2020, 1, 1),
              "agreement_ends_on": date(2099, 12, 31),
              "webhook_url": f"https://{partner_id}.example/hooks",
              "secret_enc": keys.cipher.encrypt(PARTNER_SECRET, context=SECRET,
                                                    row_id=partner_id), **overrides}
    return Partner(**values)


def customer_payload(**overrides) -> dict:
    """A valid customer body."""
    n = next(_numbers)
    return {"name": f"Mei Lin {n}", "email": f"mei.lin.{n}@example.com",
            "phone": "+8613800138000", **overrides}


def address_payload(**overrides) -> dict:
    """A valid shipping address body."""
    return {"recipient_name": "Mei Lin", "phone": "+8613800138000", "country": "CN",
            "state": "Guangdong", "city": "Shenzhen", "street": "Keyuan Road",
            "house_number": "18", "postal_code": "518057", **overrides}


async def create_customer(client: httpx.AsyncClient, *, headers: dict, **overrides) -> str:
    """Create a customer; return its id."""
    response = await client.post("/v1/customers", json=customer_payload(**overrides),
                                 headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def create_address(client: httpx.AsyncClient, *, headers: dict, customer_id: str,
                         **overrides) -> str:
    """Add an address to a customer's book; return its id."""
    response = await client.post(f"/v1/customers/{customer_id}/addresses",
                                 json=address_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def create_order(client: httpx.AsyncClient, *, headers: dict, customer_id: str,
                       address_id: str, logistics_partner_id: str | None = "swiftship",
                       payment_partner_id: str | None = "paypal", **overrides) -> str:
    """Place an order; return its number."""
    body = {"order_number": f"HG-2026-{next(_numbers):06d}", "customer_id": customer_id,
            "shipping_address_id": address_id,
            "items": [{"product_name": "Dog chew rope", "quantity": 2, "unit_price": "4.50"}],
            "total_amount": "9.00", "currency": "EUR", "payment_method": "paypal",
            "logistics_partner_id": logistics_partner_id,
            "payment_partner_id": payment_partner_id, **overrides}
    response = await client.post("/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["order_number"]


async def create_message(client: httpx.AsyncClient, *, headers: dict, customer_id: str,
                         **overrides) -> str:
    """Record a customer-service message; return its id."""
    body = {"direction": "inbound", "subject": "Plush cat bed",
            "body": "When will my plush cat bed arrive?", **overrides}
    response = await client.post(f"/v1/customers/{customer_id}/messages", json=body,
                                 headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]
