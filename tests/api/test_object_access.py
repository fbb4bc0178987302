"""Object-level access: customers see only themselves, partners only their own orders."""

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from app.identity.models import Customer
from app.orders.models import Order
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order


@dataclass
class Person:
    """A customer with one address, one order and one message."""

    id: str
    email: str
    address_id: str
    order_number: str


@dataclass
class Shop:
    a: Person  # ships with swiftship, pays with paypal
    b: Person  # ships with fastfreight, pays with stripe


async def make_person(client, storefront: dict, email: str, carrier: str, payer: str) -> Person:
    customer_id = await create_customer(client, headers=storefront, email=email)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id, logistics_partner_id=carrier,
                                      payment_partner_id=payer)
    await create_message(client, headers=storefront, customer_id=customer_id)
    return Person(customer_id, email, address_id, order_number)


@pytest.fixture
async def shop(client, auth) -> Shop:
    storefront = auth(Role.STOREFRONT)
    return Shop(a=await make_person(client, storefront, "a@example.com", "swiftship", "paypal"),
                b=await make_person(client, storefront, "b@example.com", "fastfreight", "stripe"))


def as_customer(auth, person: Person) -> dict:
    return auth(Role.CUSTOMER, sub=person.id, purpose="self")


def carrier(auth, partner_id: str) -> dict:
    return auth(Role.LOGISTICS_PARTNER, sub="bot", partner_id=partner_id, purpose="delivery")


def payer(auth, partner_id: str) -> dict:
    return auth(Role.PAYMENT_PARTNER, sub="bot", partner_id=partner_id, purpose="payment")


async def deliver(client, auth, order_number: str) -> None:
    for status in ("shipped", "delivered"):
        response = await client.post(f"/v1/orders/{order_number}/fulfilment",
                                     json={"status": status}, headers=auth(Role.STOREFRONT))
        assert response.status_code == 200, response.text


def urls(owner: Person, other: Person | None = None) -> dict[str, str]:
    """The reads of `owner`'s data; `other`'s address id under `owner` when given."""
    base = f"/v1/customers/{owner.id}"
    address_id = (other or owner).address_id
    return {
        "customer": base,
        "addresses": f"{base}/addresses",
        "address": f"{base}/addresses/{owner.address_id}",
        "customer_orders": f"{base}/orders",
        "order": f"/v1/orders/{owner.order_number}",
        "messages": f"{base}/messages",
        "access_log": f"{base}/access-log",
        "address_of_other": f"{base}/addresses/{address_id}",
    }


READS = ["customer", "addresses", "address", "customer_orders", "order", "messages",
         "access_log"]
NOT_FOUND_CODE = {"order": "order_not_found"}


@pytest.mark.parametrize("read", READS)
async def test_customer_reads_own_data(client, auth, shop, read):
    response = await client.get(urls(shop.a)[read], headers=as_customer(auth, shop.a))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("read", READS)
async def test_customer_cannot_read_another_customers_data(client, auth, shop, read):
    response = await client.get(urls(shop.b)[read], headers=as_customer(auth, shop.a))
    assert response.status_code == 404
    assert response.json()["code"] == NOT_FOUND_CODE.get(read, "customer_not_found")
    assert shop.b.email not in response.text


async def test_another_customers_address_under_own_id_is_not_found(client, auth, shop):
    response = await client.get(urls(shop.a, other=shop.b)["address_of_other"],
                                headers=as_customer(auth, shop.a))
    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"


async def test_customer_cannot_delete_another_customers_address(client, auth, shop):
    response = await client.delete(urls(shop.a, other=shop.b)["address_of_other"],
                                   headers=as_customer(auth, shop.a))
    assert response.status_code == 404
    assert response.json()["code"] == "address_not_found"
    still = await client.get(urls(shop.b)["address"],
                             headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert still.status_code == 200


async def test_customer_lookup_by_email_finds_only_itself(client, auth, shop):
    me = as_customer(auth, shop.a)
    own = await client.post("/v1/customers/lookup", json={"email": shop.a.email}, headers=me)
    assert own.status_code == 200
    assert own.json()["id"] == shop.a.id
    other = await client.post("/v1/customers/lookup", json={"email": shop.b.email}, headers=me)
    assert other.status_code == 404
    assert other.json()["code"] == "customer_not_found"


async def test_customer_cannot_change_another_customer(client, auth, session, shop):
    me = auth(Role.CUSTOMER, sub=shop.a.id)
    before = await session.scalar(select(Customer).where(Customer.id == shop.b.id))
    patched = await client.patch(f"/v1/customers/{shop.b.id}", json={"name": "Mallory"},
                                 headers=me)
    assert patched.status_code == 404
    assert patched.json()["code"] == "customer_not_found"
    added = await client.post(f"/v1/customers/{shop.b.id}/addresses",
                              json={"recipient_name": "Mallory", "country": "CN",
                                    "city": "Shenzhen", "street": "Keyuan Road",
                                    "house_number": "1"}, headers=me)
    assert added.status_code == 404
    session.expire_all()
    after = await session.scalar(select(Customer).where(Customer.id == shop.b.id))
    assert after.name_enc == before.name_enc
    listed = await client.get(f"/v1/customers/{shop.b.id}/addresses",
                              headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert len(listed.json()["items"]) == 1


async def test_customer_order_list_holds_only_own_orders(client, auth, shop):
    response = await client.get("/v1/orders", headers=as_customer(auth, shop.a))
    assert response.status_code == 200
    assert [o["order_number"] for o in response.json()["items"]] == [shop.a.order_number]
    assert {o["customer_id"] for o in response.json()["items"]} == {shop.a.id}


async def test_carrier_cannot_read_another_carriers_order(client, auth, shop):
    response = await client.get(f"/v1/orders/{shop.b.order_number}",
                                headers=carrier(auth, "swiftship"))
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    own = await client.get(f"/v1/orders/{shop.a.order_number}",
                           headers=carrier(auth, "swiftship"))
    assert own.status_code == 200


async def test_carrier_list_holds_only_its_undelivered_shipments(client, auth, shop):
    storefront = auth(Role.STOREFRONT)
    delivered = await create_order(client, headers=storefront, customer_id=shop.a.id,
                                   address_id=shop.a.address_id, logistics_partner_id="swiftship")
    await deliver(client, auth, delivered)
    later = await create_order(client, headers=storefront, customer_id=shop.b.id,
                               address_id=shop.b.address_id, logistics_partner_id="swiftship")

    response = await client.get("/v1/orders", headers=carrier(auth, "swiftship"))
    assert response.status_code == 200
    assert [o["order_number"] for o in response.json()["items"]] == [shop.a.order_number, later]
    only_delivered = await client.get("/v1/orders", params={"fulfilment_status": "delivered"},
                                      headers=carrier(auth, "swiftship"))
    assert only_delivered.json()["items"] == []


async def test_payment_partner_sees_only_its_own_orders(client, auth, shop):
    await deliver(client, auth, shop.a.order_number)
    mine = await client.get(f"/v1/orders/{shop.a.order_number}", headers=payer(auth, "paypal"))
    assert mine.status_code == 200  # payment data is not sealed by delivery
    theirs = await client.get(f"/v1/orders/{shop.b.order_number}", headers=payer(auth, "paypal"))
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "order_not_found"
    listed = await client.get("/v1/orders", headers=payer(auth, "paypal"))
    assert [o["order_number"] for o in listed.json()["items"]] == [shop.a.order_number]
    stripe = await client.get("/v1/orders", headers=payer(auth, "stripe"))
    assert [o["order_number"] for o in stripe.json()["items"]] == [shop.b.order_number]


async def test_partner_without_any_orders_sees_an_empty_list(client, auth, shop):
    response = await client.get("/v1/orders", headers=carrier(auth, "nobody-ships"))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("partner", [carrier, payer])
async def test_partners_cannot_read_customers(client, auth, shop, partner):
    headers = partner(auth, "swiftship" if partner is carrier else "paypal")
    orders = await client.get(f"/v1/customers/{shop.a.id}/orders", headers=headers)
    assert orders.status_code == 404
    assert orders.json()["code"] == "customer_not_found"
    if partner is carrier:  # `delivery` covers customers, but no customer is a carrier's
        customer = await client.get(f"/v1/customers/{shop.a.id}", headers=headers)
        assert customer.status_code == 404
        assert customer.json()["code"] == "customer_not_found"
        found = await client.post("/v1/customers/lookup", json={"email": shop.a.email},
                                  headers=headers)
        assert found.status_code == 403  # carriers never see emails, so may not search by one
        assert found.json()["code"] == "purpose_not_permitted"
    else:  # `payment` does not cover customers at all
        customer = await client.get(f"/v1/customers/{shop.a.id}", headers=headers)
        assert customer.status_code == 403
        assert customer.json()["code"] == "purpose_not_permitted"
    assert shop.a.email not in customer.text


async def test_partners_cannot_change_other_partners_orders(client, auth, session, shop):
    shipped = await client.post(f"/v1/orders/{shop.b.order_number}/fulfilment",
                                json={"status": "shipped"},
                                headers=auth(Role.LOGISTICS_PARTNER, partner_id="swiftship"))
    assert shipped.status_code == 404
    paid = await client.put(f"/v1/orders/{shop.b.order_number}/payment-status",
                            json={"status": "paid"},
                            headers=auth(Role.PAYMENT_PARTNER, partner_id="paypal"))
    assert paid.status_code == 404
    order = await session.scalar(select(Order).where(Order.order_number == shop.b.order_number))
    assert (order.fulfilment_status, order.payment_status) == ("placed", "pending")


async def test_customer_sees_who_read_their_data_and_why(client, auth, shop):
    await client.get(f"/v1/customers/{shop.a.id}",
                     headers=auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service"))
    await client.get(f"/v1/orders/{shop.a.order_number}", headers=carrier(auth, "swiftship"))
    await client.get(f"/v1/customers/{shop.b.id}",
                     headers=auth(Role.SUPPORT_AGENT, sub="agent-9", purpose="service"))

    response = await client.get(f"/v1/customers/{shop.a.id}/access-log",
                                headers=as_customer(auth, shop.a))
    assert response.status_code == 200
    entries = response.json()["items"]
    reads = [e for e in entries if e["action"] == "read"]
    assert [(e["actor_id"], e["actor_role"], e["purpose"], e["resource"]) for e in reads] == [
        ("swiftship", "logistics_partner", "delivery", "order"),  # newest first
        ("agent-7", "support_agent", "service", "customer"),
    ]
    assert reads[1]["fields"] == ["id", "name", "email", "phone", "created_at", "updated_at"]
    assert "agent-9" not in response.text  # B's reader is B's business
    assert {e["actor_role"] for e in entries} == {"storefront", "support_agent",
                                                  "logistics_partner"}
    assert all(set(e) == {"occurred_at", "actor_id", "actor_role", "purpose", "action",
                          "resource", "fields"} for e in entries)
    assert shop.a.email not in response.text


async def test_reading_the_access_log_is_itself_logged(client, auth, shop):
    me = as_customer(auth, shop.a)
    await client.get(f"/v1/customers/{shop.a.id}/access-log", headers=me)
    second = await client.get(f"/v1/customers/{shop.a.id}/access-log", headers=me)
    newest = second.json()["items"][0]
    assert (newest["actor_id"], newest["actor_role"], newest["purpose"], newest["resource"]) == (
        shop.a.id, "customer", "self", "access_log")


async def test_access_log_pages_newest_first(client, auth, shop):
    for _ in range(3):
        await client.get(f"/v1/customers/{shop.a.id}",
                         headers=auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service"))
    me = as_customer(auth, shop.a)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(f"/v1/customers/{shop.a.id}/access-log", params=params,
                                headers=me)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in seen]
    assert moments == sorted(moments, reverse=True)
    assert sum(e["actor_id"] == "agent-7" for e in seen) == 3
