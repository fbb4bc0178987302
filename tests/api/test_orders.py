"""Placing orders, card-number rejection, fulfilment and payment events, and order lists."""

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.addresses.models import ShippingAddress
from app.audit.models import AuditEntry
from app.orders.models import Order, OrderItem
from app.policy.purposes import RESOURCE_FIELDS, Resource
from app.policy.roles import Role
from tests.factories import address_payload, create_address, create_customer, create_order

CARD = "4111 1111 1111 1111"  # Luhn-valid test Visa
NOT_A_CARD = "4111 1111 1111 1112"  # same shape, fails the Luhn check
SERVICE = {"X-Purpose": "service"}


@dataclass
class Buyer:
    customer_id: str
    address_id: str


@pytest.fixture
async def buyer(client, auth) -> Buyer:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    return Buyer(customer_id, await create_address(client, headers=storefront,
                                                   customer_id=customer_id))


def order_body(buyer: Buyer, **overrides) -> dict:
    return {"order_number": "HG-2026-900001", "customer_id": buyer.customer_id,
            "shipping_address_id": buyer.address_id,
            "items": [{"product_name": "Bike bell", "quantity": 2, "unit_price": "4.50"},
                      {"product_name": "Cat tunnel", "quantity": 1, "unit_price": "19.99"}],
            "total_amount": "28.99", "currency": "EUR", "payment_method": "visa",
            "logistics_partner_id": "swiftship", "payment_partner_id": "paypal", **overrides}


async def count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def read_order(client, auth, number: str, role: Role = Role.SUPPORT_AGENT) -> dict:
    response = await client.get(f"/v1/orders/{number}", headers=auth(role, purpose="service"))
    assert response.status_code == 200, response.text
    return response.json()


async def fulfil(client, headers: dict, number: str, status: str, **extra):
    return await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status, **extra},
                             headers=headers)


async def pay(client, headers: dict, number: str, status: str):
    return await client.put(f"/v1/orders/{number}/payment-status", json={"status": status},
                            headers=headers)


def carrier(auth, partner_id: str = "swiftship") -> dict:
    return auth(Role.LOGISTICS_PARTNER, sub="carrier-bot", partner_id=partner_id)


def payer(auth, partner_id: str = "paypal") -> dict:
    return auth(Role.PAYMENT_PARTNER, sub="payer-bot", partner_id=partner_id)


# Placing orders

async def test_place_order_returns_a_receipt_and_stores_the_order(client, auth, session, buyer):
    body = order_body(buyer)
    response = await client.post("/v1/orders", json=body, headers=auth(Role.STOREFRONT))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert set(receipt) == {"id", "order_number", "fields", "at"}
    assert receipt["order_number"] == body["order_number"]
    assert {"order_number", "customer_id", "items", "total_amount", "currency",
            "payment_method", "shipping_address"} <= set(receipt["fields"])
    assert set(receipt["fields"]) <= set(RESOURCE_FIELDS[Resource.ORDER])

    order = await read_order(client, auth, body["order_number"])
    assert order["id"] == receipt["id"]
    assert order["items"] == body["items"]
    assert (order["total_amount"], order["currency"]) == ("28.99", "EUR")
    assert (order["payment_method"], order["payment_status"]) == ("visa", "pending")
    assert order["fulfilment_status"] == "placed"
    assert order["placed_at"] is not None
    assert (order["shipped_at"], order["delivered_at"], order["cancelled_at"]) == (None,) * 3
    assert order["shipping_address"] == address_payload()
    assert (order["logistics_partner_id"], order["payment_partner_id"]) == ("swiftship",
                                                                            "paypal")

    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "create",
                                                          AuditEntry.resource == "order"))
    assert (entry.subject_id, entry.resource_id) == (buyer.customer_id, body["order_number"])
    assert entry.fields == receipt["fields"]


async def test_money_is_exact_decimal_strings(client, auth, buyer):
    body = order_body(buyer, items=[{"product_name": "Chain lube", "quantity": 3,
                                     "unit_price": "0.10"}], total_amount="1234567890.30")
    assert (await client.post("/v1/orders", json=body, headers=auth(Role.STOREFRONT))
            ).status_code == 201
    order = await read_order(client, auth, body["order_number"])
    assert order["total_amount"] == "1234567890.30"
    assert order["items"][0]["unit_price"] == "0.10"


@pytest.mark.parametrize("field,value", [
    ("total_amount", "-1.00"), ("total_amount", "1.005"), ("total_amount", "abc"),
    ("unit_price", "-0.01"), ("unit_price", "0.001"),
])
async def test_bad_money_is_422(client, auth, session, buyer, field, value):
    body = order_body(buyer)
    if field == "unit_price":
        body["items"][0]["unit_price"] = value
    else:
        body[field] = value
    response = await client.post("/v1/orders", json=body, headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert await count(session, Order) == 0


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "two"])
async def test_quantities_must_be_positive_integers(client, auth, session, buyer, quantity):
    body = order_body(buyer)
    body["items"][0]["quantity"] = quantity
    response = await client.post("/v1/orders", json=body, headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert await count(session, Order) == 0


async def test_an_order_needs_items(client, auth, session, buyer):
    response = await client.post("/v1/orders", json=order_body(buyer, items=[]),
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert await count(session, Order) == 0


@pytest.mark.parametrize("extra", [{"card_number": "4111111111111111"}, {"cvv": "123"},
                                   {"expiry": "12/29"}])
async def test_card_data_fields_do_not_exist(client, auth, session, buyer, extra):
    response = await client.post("/v1/orders", json=order_body(buyer, **extra),
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert await count(session, Order) == 0


async def test_duplicate_order_number_is_409(client, auth, session, buyer):
    storefront = auth(Role.STOREFRONT)
    first = await client.post("/v1/orders", json=order_body(buyer), headers=storefront)
    assert first.status_code == 201
    again = await client.post("/v1/orders", json=order_body(buyer, total_amount="1.00"),
                              headers=storefront)
    assert again.status_code == 409
    assert again.json()["code"] == "order_number_taken"
    assert await count(session, Order) == 1
    assert (await read_order(client, auth, "HG-2026-900001"))["total_amount"] == "28.99"


async def test_unknown_or_foreign_address_is_404(client, auth, session, buyer):
    storefront = auth(Role.STOREFRONT)
    unknown = await client.post(
        "/v1/orders", json=order_body(buyer, shipping_address_id="no-such-address"),
        headers=storefront)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "address_not_found"
    other = await create_customer(client, headers=storefront)
    foreign = await client.post("/v1/orders", json=order_body(buyer, customer_id=other),
                                headers=storefront)
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "address_not_found"
    no_customer = await client.post("/v1/orders", json=order_body(buyer, customer_id="nobody"),
                                    headers=storefront)
    assert no_customer.status_code == 404
    assert no_customer.json()["code"] == "customer_not_found"
    assert await count(session, Order) == 0


@pytest.mark.parametrize("role", [Role.SUPPORT_AGENT, Role.CUSTOMER, Role.FRAUD_ANALYST])
async def test_only_the_storefront_places_orders(client, auth, session, buyer, role):
    response = await client.post("/v1/orders", json=order_body(buyer),
                                 headers=auth(role, sub=buyer.customer_id))
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_permitted"
    assert await count(session, Order) == 0


async def test_idempotent_placing_stores_one_order(client, auth, session, buyer):
    headers = {**auth(Role.STOREFRONT), "Idempotency-Key": "checkout-7"}
    first = await client.post("/v1/orders", json=order_body(buyer), headers=headers)
    second = await client.post("/v1/orders", json=order_body(buyer), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await count(session, Order) == 1
    other = await client.post("/v1/orders", json=order_body(buyer, order_number="HG-OTHER"),
                              headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


# Card numbers in structured fields are rejected, and nothing is stored

def with_item_name(buyer: Buyer, name: str) -> dict:
    body = order_body(buyer)
    body["items"][1]["product_name"] = name
    return body


ORDER_CARD_CASES = {
    "product_name": lambda b: with_item_name(b, CARD),
    "product_name_inside_text": lambda b: with_item_name(b, f"Gift card for {CARD}"),
    "product_name_dashes": lambda b: with_item_name(b, CARD.replace(" ", "-")),
    "amex_product_name": lambda b: with_item_name(b, "3782 822463 10005"),
    "order_number": lambda b: order_body(b, order_number="4111111111111111"),
    "logistics_partner_id": lambda b: order_body(b, logistics_partner_id="4111111111111111"),
    "payment_partner_id": lambda b: order_body(b, payment_partner_id="5555555555554444"),
}


@pytest.mark.parametrize("make", ORDER_CARD_CASES.values(), ids=ORDER_CARD_CASES.keys())
async def test_card_number_in_an_order_field_is_rejected(client, auth, session, buyer, make):
    response = await client.post("/v1/orders", json=make(buyer), headers=auth(Role.STOREFRONT))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "card_number_rejected"
    assert "1111" not in response.text and "0005" not in response.text
    assert "4444" not in response.text
    assert await count(session, Order) == 0
    assert await count(session, OrderItem) == 0
    assert (await session.scalars(select(AuditEntry).where(AuditEntry.resource == "order"))
            ).all() == []


@pytest.mark.parametrize("field", ["recipient_name", "street", "house_number", "postal_code",
                                   "city", "state"])
async def test_card_number_in_an_address_field_is_rejected(client, auth, session, buyer,
                                                           field):
    response = await client.post(f"/v1/customers/{buyer.customer_id}/addresses",
                                 json=address_payload(**{field: CARD}),
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "card_number_rejected"
    assert CARD not in response.text
    assert await count(session, ShippingAddress) == 1  # only the fixture's address


async def test_a_number_that_fails_luhn_is_allowed(client, auth, buyer):
    response = await client.post("/v1/orders", json=with_item_name(buyer, NOT_A_CARD),
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 201
    order = await read_order(client, auth, "HG-2026-900001")
    assert order["items"][1]["product_name"] == NOT_A_CARD


# Fulfilment

@pytest.fixture
async def placed(client, auth, buyer) -> str:
    return await create_order(client, headers=auth(Role.STOREFRONT),
                              customer_id=buyer.customer_id, address_id=buyer.address_id,
                              logistics_partner_id="swiftship", payment_partner_id="paypal")


async def test_placed_shipped_delivered_sets_the_times(client, auth, placed):
    storefront = auth(Role.STOREFRONT)
    shipped = await fulfil(client, storefront, placed, "shipped",
                           at="2026-11-30T02:00:00+08:00")
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["fields"] == ["fulfilment_status", "shipped_at"]
    order = await read_order(client, auth, placed)
    assert order["fulfilment_status"] == "shipped"
    assert order["shipped_at"] == "2026-11-29T18:00:00Z"
    assert order["delivered_at"] is None

    delivered = await fulfil(client, storefront, placed, "delivered",
                             at="2026-12-01T10:00:00+08:00")
    assert delivered.status_code == 200
    order = await read_order(client, auth, placed)
    assert order["fulfilment_status"] == "delivered"
    assert order["delivered_at"] == "2026-12-01T02:00:00Z"
    assert order["shipped_at"] == "2026-11-29T18:00:00Z"
    assert order["cancelled_at"] is None


async def test_cancelling_a_placed_order_sets_cancelled_at(client, auth, placed):
    response = await fulfil(client, auth(Role.STOREFRONT), placed, "cancelled")
    assert response.status_code == 200
    order = await read_order(client, auth, placed)
    assert order["fulfilment_status"] == "cancelled"
    assert order["cancelled_at"] is not None


@pytest.mark.parametrize("steps,bad", [
    ([], "delivered"),
    (["shipped"], "shipped"),
    (["shipped", "delivered"], "cancelled"),
    (["shipped", "delivered"], "shipped"),
    (["shipped", "delivered"], "delivered"),
    (["cancelled"], "shipped"),
    (["cancelled"], "cancelled"),
])
async def test_invalid_transitions_are_409(client, auth, placed, steps, bad):
    storefront = auth(Role.STOREFRONT)
    for step in steps:
        assert (await fulfil(client, storefront, placed, step)).status_code == 200
    before = await read_order(client, auth, placed)
    response = await fulfil(client, storefront, placed, bad)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"
    assert await read_order(client, auth, placed) == before


@pytest.mark.parametrize("body", [{"status": "placed"}, {"status": "lost"},
                                  {"status": "shipped", "at": "2026-11-30T02:00:00"}])
async def test_bad_fulfilment_bodies_are_422(client, auth, placed, body):
    response = await client.post(f"/v1/orders/{placed}/fulfilment", json=body,
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422


async def test_unknown_order_fulfilment_is_404(client, auth):
    response = await fulfil(client, auth(Role.STOREFRONT), "HG-NOPE", "shipped")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


async def test_carrier_ships_and_delivers_its_own_shipment(client, auth, session, placed):
    for status in ("shipped", "delivered"):
        response = await fulfil(client, carrier(auth), placed, status)
        assert response.status_code == 200, response.text
    order = await read_order(client, auth, placed)
    assert order["fulfilment_status"] == "delivered"
    assert order["shipped_at"] is not None and order["delivered_at"] is not None
    updates = (await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "update").order_by(AuditEntry.occurred_at))).all()
    assert [(e.actor_id, e.actor_role, e.resource_id) for e in updates] == [
        ("swiftship", "logistics_partner", placed)] * 2
    assert [e.fields for e in updates] == [["fulfilment_status", "shipped_at"],
                                           ["fulfilment_status", "delivered_at"]]


async def test_carrier_cannot_cancel_or_reassign(client, auth, placed):
    cancel = await fulfil(client, carrier(auth), placed, "cancelled")
    assert cancel.status_code == 403
    assert cancel.json()["code"] == "role_not_permitted"
    reassign = await fulfil(client, carrier(auth), placed, "shipped",
                            logistics_partner_id="swiftship")
    assert reassign.status_code == 403
    assert (await read_order(client, auth, placed))["fulfilment_status"] == "placed"


async def test_carrier_cannot_touch_another_carriers_shipment(client, auth, placed):
    response = await fulfil(client, carrier(auth, "fastfreight"), placed, "shipped")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    assert (await read_order(client, auth, placed))["fulfilment_status"] == "placed"


async def test_storefront_assigns_the_carrier_when_shipping(client, auth, buyer):
    number = await create_order(client, headers=auth(Role.STOREFRONT),
                                customer_id=buyer.customer_id, address_id=buyer.address_id,
                                logistics_partner_id=None)
    assert (await fulfil(client, carrier(auth), number, "shipped")).status_code == 404
    response = await fulfil(client, auth(Role.STOREFRONT), number, "shipped",
                            logistics_partner_id="swiftship")
    assert response.status_code == 200
    assert response.json()["fields"] == ["fulfilment_status", "shipped_at",
                                         "logistics_partner_id"]
    assert (await fulfil(client, carrier(auth), number, "delivered")).status_code == 200


@pytest.mark.parametrize("role", [Role.PAYMENT_PARTNER, Role.SUPPORT_AGENT, Role.CUSTOMER,
                                  Role.FRAUD_ANALYST])
async def test_other_roles_cannot_record_fulfilment(client, auth, placed, role):
    response = await fulfil(client, auth(role, partner_id="paypal"), placed, "shipped")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_permitted"


# Payment status

async def test_payment_partner_sets_the_status_of_its_own_orders(client, auth, session, placed):
    response = await pay(client, payer(auth), placed, "paid")
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == ["payment_status"]
    assert (await read_order(client, auth, placed))["payment_status"] == "paid"
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert (entry.actor_id, entry.actor_role, entry.fields) == ("paypal", "payment_partner",
                                                                ["payment_status"])


async def test_payment_partner_cannot_touch_other_orders(client, auth, placed):
    response = await pay(client, payer(auth, "stripe"), placed, "paid")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    assert (await read_order(client, auth, placed))["payment_status"] == "pending"


@pytest.mark.parametrize("steps,bad", [
    (["paid"], "pending"), (["paid"], "failed"), (["paid", "refunded"], "paid"),
    ([], "refunded"),
])
async def test_invalid_payment_transitions_are_409(client, auth, placed, steps, bad):
    for step in steps:
        assert (await pay(client, payer(auth), placed, step)).status_code == 200
    response = await pay(client, payer(auth), placed, bad)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"


async def test_failed_payment_can_be_retried(client, auth, placed):
    for step in ("authorized", "failed", "paid", "refunded"):
        assert (await pay(client, payer(auth), placed, step)).status_code == 200
    assert (await read_order(client, auth, placed))["payment_status"] == "refunded"


@pytest.mark.parametrize("role", [Role.LOGISTICS_PARTNER, Role.SUPPORT_AGENT, Role.CUSTOMER])
async def test_other_roles_cannot_record_payments(client, auth, placed, role):
    response = await pay(client, auth(role, partner_id="swiftship"), placed, "paid")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_permitted"


# Lists

async def place_many(client, auth, buyer: Buyer, n: int) -> list[str]:
    storefront = auth(Role.STOREFRONT)
    return [await create_order(client, headers=storefront, customer_id=buyer.customer_id,
                               address_id=buyer.address_id) for _ in range(n)]


async def all_pages(client, url: str, headers: dict, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append([o["order_number"] for o in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/customers/{id}/orders"])
async def test_lists_page_through_every_order_once_oldest_first(client, auth, buyer, path):
    numbers = await place_many(client, auth, buyer, 5)
    pages = await all_pages(client, path.format(id=buyer.customer_id),
                            auth(Role.SUPPORT_AGENT, purpose="service"), limit=2)
    assert pages == [numbers[0:2], numbers[2:4], numbers[4:5]]


async def test_exact_page_size_ends_without_an_empty_page(client, auth, buyer):
    numbers = await place_many(client, auth, buyer, 2)
    pages = await all_pages(client, "/v1/orders", auth(Role.SUPPORT_AGENT, purpose="service"),
                            limit=2)
    assert pages == [numbers]


async def test_list_filters_by_fulfilment_status(client, auth, buyer):
    first, second = await place_many(client, auth, buyer, 2)
    assert (await fulfil(client, auth(Role.STOREFRONT), second, "shipped")).status_code == 200
    response = await client.get("/v1/orders", params={"fulfilment_status": "shipped"},
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert [o["order_number"] for o in response.json()["items"]] == [second]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "WzEsMl0", "WyJub3QtYS1kYXRlIiwieCJd",
                                    "!!!"])
async def test_invalid_cursor_is_400(client, auth, buyer, cursor):
    response = await client.get("/v1/orders", params={"cursor": cursor},
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit,status", [(0, 422), (201, 422), (-1, 422), ("ten", 422),
                                          (200, 200), (1, 200)])
async def test_limit_is_between_1_and_200(client, auth, buyer, limit, status):
    response = await client.get("/v1/orders", params={"limit": limit},
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert response.status_code == status
    if status == 422:
        assert response.json()["code"] == "validation_failed"


async def test_carrier_confirms_destruction_after_delivery(client, auth, session):
    """After delivery the carrier gets 410 and its destruction confirmation is audited."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id, logistics_partner_id="swiftship")
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")
    early = await client.post(f"/v1/orders/{number}/destruction", headers=carrier)
    assert early.status_code == 409
    for status in ("shipped", "delivered"):
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                          headers=carrier)
    gone = await client.get(f"/v1/orders/{number}", headers=carrier)
    assert gone.status_code == 410 and "/destruction" in gone.json()["detail"]
    confirmed = await client.post(f"/v1/orders/{number}/destruction", headers=carrier)
    assert confirmed.status_code == 200
    entry = await session.scalar(select(AuditEntry).where(
        AuditEntry.action == "confirm_destroyed"))
    assert (entry.actor_id, entry.resource_id, entry.subject_id) == (
        "swiftship", number, customer_id)
    other = auth(Role.LOGISTICS_PARTNER, partner_id="othership")
    assert (await client.post(f"/v1/orders/{number}/destruction",
                              headers=other)).status_code == 404


async def test_fulfilment_times_cannot_go_backwards(client, auth):
    """Delivery cannot be dated before shipping, nor shipping before the order was placed."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id, placed_at="2026-11-20T10:00:00Z")
    early = await client.post(f"/v1/orders/{number}/fulfilment", headers=storefront,
                              json={"status": "shipped", "at": "2026-11-19T10:00:00Z"})
    assert early.status_code == 422
    assert early.json()["code"] == "event_before_previous_step"
    shipped = await client.post(f"/v1/orders/{number}/fulfilment", headers=storefront,
                                json={"status": "shipped", "at": "2026-11-21T10:00:00Z"})
    assert shipped.status_code == 200
    backwards = await client.post(f"/v1/orders/{number}/fulfilment", headers=storefront,
                                  json={"status": "delivered", "at": "2026-11-21T09:00:00Z"})
    assert backwards.status_code == 422


async def test_cancelled_shipments_are_sealed_for_the_carrier(client, auth):
    """Once cancelled, the carrier no longer reads or lists the recipient's address."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id, logistics_partner_id="swiftship")
    await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "shipped"},
                      headers=storefront)
    await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "cancelled"},
                      headers=storefront)
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")
    assert (await client.get(f"/v1/orders/{number}", headers=carrier)).status_code == 410
    assert (await client.get("/v1/orders", headers=carrier)).json()["items"] == []
    service = await client.get(f"/v1/orders/{number}",
                               headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert service.json()["shipping_address"]["street"] == "Keyuan Road"


async def test_fraud_analysts_cannot_look_customers_up_by_email(client, auth):
    storefront = auth(Role.STOREFRONT)
    await create_customer(client, headers=storefront, email="fraud.probe@example.com")
    response = await client.post("/v1/customers/lookup", json={"email": "fraud.probe@example.com"},
                                 headers=auth(Role.FRAUD_ANALYST, purpose="fraud"))
    assert response.status_code == 403
    assert response.json()["code"] == "purpose_not_permitted"
