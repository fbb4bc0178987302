"""The purpose table, end to end: every role x purpose x resource gets exactly what the table says.

The expected field sets are computed from `app.policy.purposes.PURPOSE_TABLE` (through
`decide`), so these tests follow the table; a few hard-coded expectations taken from DESIGN.md
guard the table itself.
"""

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.policy.decisions import Reason, decide
from app.policy.purposes import PURPOSE_TABLE, RESOURCE_FIELDS, Purpose, Resource
from app.policy.roles import PARTNER_ROLES, Role
from tests.factories import (
    address_payload,
    create_address,
    create_customer,
    create_message,
    create_order,
)

CARRIER, PAYER = "swiftship", "paypal"
PROBLEM = "application/problem+json"
ADDRESS = address_payload()
SHIP_TO_KEYS = {"recipient_name", "phone", "country", "state", "city", "street", "house_number",
                "postal_code"}


@dataclass
class World:
    """One customer with an address, an order, a message and a complaint."""

    customer_id: str
    email: str
    name: str
    address_id: str
    order_number: str
    complaint_id: str
    request_id: str


@pytest.fixture
async def world(client, auth) -> World:
    storefront = auth(Role.STOREFRONT)
    email, name = "policy.matrix@example.com", "Matrix Customer"
    customer_id = await create_customer(client, headers=storefront, email=email, name=name)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id, logistics_partner_id=CARRIER,
                                      payment_partner_id=PAYER)
    await create_message(client, headers=storefront, customer_id=customer_id)
    complaint = await client.post("/v1/complaints", headers=storefront, json={
        "customer_id": customer_id, "subject": "Late parcel", "body": "Where is my cat bed?"})
    assert complaint.status_code == 201, complaint.text
    request = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                      "type": "access"},
                                headers={**storefront, "X-Purpose": "service"})
    assert request.status_code == 201, request.text
    return World(customer_id, email, name, address_id, order_number, complaint.json()["id"],
                 request.json()["id"])


async def reads_of(session, response) -> list[AuditEntry]:
    """The read entries the request behind `response` wrote."""
    return list((await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read",
        AuditEntry.request_id == response.headers["x-request-id"]))).all())


def headers_for(auth, role: Role, purpose: str | None, world: World) -> dict:
    """A token that makes the role's own-data scoping pass for `world`."""
    if role is Role.CUSTOMER:
        return auth(role, sub=world.customer_id, purpose=purpose)
    if role is Role.LOGISTICS_PARTNER:
        return auth(role, sub="carrier-bot", partner_id=CARRIER, purpose=purpose)
    if role is Role.PAYMENT_PARTNER:
        return auth(role, sub="payer-bot", partner_id=PAYER, purpose=purpose)
    return auth(role, sub=f"{role}-1", purpose=purpose)


def actor_id_of(role: Role, world: World) -> str:
    return {Role.CUSTOMER: world.customer_id, Role.LOGISTICS_PARTNER: CARRIER,
            Role.PAYMENT_PARTNER: PAYER}.get(role, f"{role}-1")


def url_of(resource: Resource, world: World) -> str:
    base = f"/v1/customers/{world.customer_id}"
    return {
        Resource.CUSTOMER: base,
        Resource.ADDRESS: f"{base}/addresses/{world.address_id}",
        Resource.ORDER: f"/v1/orders/{world.order_number}",
        Resource.MESSAGE: f"{base}/messages",
        Resource.COMPLAINT: f"/v1/complaints/{world.complaint_id}",
        Resource.CONSENT: f"{base}/consents",
        Resource.ACCESS_LOG: f"{base}/access-log",
        Resource.REQUEST: f"/v1/requests/{world.request_id}",
    }[resource]


LISTED = {Resource.MESSAGE, Resource.ACCESS_LOG}


def record_of(resource: Resource, body: dict) -> dict:
    """The one record a read returned (list endpoints: the first item)."""
    if resource is Resource.CONSENT:
        assert body, body
        return body[0]
    if resource in LISTED:
        assert body["items"], body
        return body["items"][0]
    return body


def expected(role: Role, purpose: Purpose, resource: Resource) -> tuple[int, object]:
    """(status, fields) for a 200, (status, problem code) otherwise."""
    decision = decide(role, purpose, resource)
    if decision.reason in (Reason.ROLE_NOT_PERMITTED, Reason.RESOURCE_NOT_COVERED):
        return 403, "purpose_not_permitted"
    assert decision.allowed
    if role in PARTNER_ROLES and resource is not Resource.ORDER:
        return 404, "customer_not_found"  # partners never see customers, only their orders
    return 200, decision.fields


EXPORT_ONLY = {Resource.POLICY_RECORD}  # read only inside the access export (route inventory)
# Lockouts are listed by the privacy officer only (tests/api/test_verification_limits.py);
# disclosures are read on the officer's routes and in the export (tests/api/test_disclosures.py);
# holds (officer-only routes) and aggregates have their own tests: test_holds, test_analytics.
MATRIX = [(r, p, x) for r, p, x in itertools.product(Role, Purpose, Resource)
          if x not in {Resource.LOCKOUT, Resource.DISCLOSURE, Resource.HOLD, Resource.ANALYTICS,
                       Resource.AUDIT_ENTRY} | EXPORT_ONLY]


@pytest.mark.parametrize(("role", "purpose", "resource"), MATRIX,
                         ids=[f"{r}-{p}-{x}" for r, p, x in MATRIX])
async def test_every_role_purpose_and_resource(client, auth, session, world, role, purpose,
                                               resource):
    status, outcome = expected(role, purpose, resource)
    response = await client.get(url_of(resource, world),
                                headers=headers_for(auth, role, purpose.value, world))

    assert response.status_code == status, response.text
    reads = await reads_of(session, response)
    if status != 200:
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == outcome
        assert reads == []
        return

    record = record_of(resource, response.json())
    assert set(record) == set(outcome)
    assert len(reads) == 1
    entry = reads[0]
    assert entry.purpose == purpose.value
    assert entry.resource == resource.value
    assert entry.subject_id == world.customer_id
    assert entry.actor_role == role.value
    assert entry.actor_id == actor_id_of(role, world)
    assert entry.fields == list(outcome)
    assert set(entry.fields) == set(record)
    assert entry.request_id == response.headers["x-request-id"]


ORDER_READERS = [(r, p) for p, rule in PURPOSE_TABLE.items() for r in sorted(rule.roles)
                 if Resource.ORDER in rule.fields]


@pytest.mark.parametrize(("role", "purpose"), ORDER_READERS,
                         ids=[f"{r}-{p}" for r, p in ORDER_READERS])
async def test_order_list_items_hold_exactly_the_allowed_fields(client, auth, session, world,
                                                                 role, purpose):
    response = await client.get("/v1/orders", headers=headers_for(auth, role, purpose, world))
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    assert set(item) == set(decide(role, purpose, Resource.ORDER).fields)
    (entry,) = await reads_of(session, response)
    assert (entry.purpose, entry.resource_id, set(entry.fields)) == (
        purpose.value, world.order_number, set(item))


DESIGN_ROLES = {  # DESIGN.md, "Purposes and who may use them"
    Purpose.DELIVERY: {Role.STOREFRONT, Role.LOGISTICS_PARTNER},
    Purpose.SERVICE: {Role.STOREFRONT, Role.SUPPORT_AGENT},
    Purpose.FRAUD: {Role.FRAUD_ANALYST},
    Purpose.PAYMENT: {Role.PAYMENT_PARTNER},
    Purpose.SELF: {Role.CUSTOMER},
}


def test_the_table_gives_each_purpose_the_roles_design_names():
    assert {p: set(PURPOSE_TABLE[p].roles) for p in DESIGN_ROLES} == DESIGN_ROLES
    officer = {p for p, rule in PURPOSE_TABLE.items() if Role.PRIVACY_OFFICER in rule.roles}
    assert officer == {Purpose.OVERSIGHT}  # requests, complaints' dates, consents, disclosures
    assert set(PURPOSE_TABLE[Purpose.OVERSIGHT].fields) == {
        Resource.REQUEST, Resource.COMPLAINT, Resource.CONSENT, Resource.LOCKOUT,
        Resource.DISCLOSURE, Resource.HOLD, Resource.AUDIT_ENTRY}


# Hard-coded expectations from DESIGN.md: they guard the table itself.

ORDER_TIMES = {"placed_at", "shipped_at", "delivered_at", "cancelled_at"}
PROMISES = {"ship_by", "deliver_from", "deliver_by"}
FRAUD_ORDER = {"customer_key", "shipping_region", "total_amount", "currency", "payment_method",
               "payment_status"} | ORDER_TIMES
NEVER_FOR_FRAUD = {"name", "email", "phone", "street", "house_number", "body", "subject",
                   "recipient_name", "shipping_address", "customer_id", "id"}


def all_keys(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | set().union(*(all_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(all_keys(v) for v in value))
    return set()


async def test_fraud_sees_pseudonymous_amounts_and_times_only(client, auth, world):
    fraud = auth(Role.FRAUD_ANALYST, purpose="fraud")
    order = await client.get(f"/v1/orders/{world.order_number}", headers=fraud)
    customer = await client.get(f"/v1/customers/{world.customer_id}", headers=fraud)
    address = await client.get(url_of(Resource.ADDRESS, world), headers=fraud)
    assert order.status_code == customer.status_code == address.status_code == 200

    body = order.json()
    assert set(body) == FRAUD_ORDER
    assert body["shipping_region"] == {"country": "CN", "state": "Guangdong", "city": "Shenzhen"}
    assert (body["total_amount"], body["currency"]) == ("9.00", "EUR")
    assert (body["payment_method"], body["payment_status"]) == ("paypal", "pending")
    assert set(customer.json()) == {"customer_key", "created_at"}
    assert set(address.json()) == {"country", "state", "city"}
    # The key is pseudonymous yet stable: the same customer, the same key; never its id.
    assert customer.json()["customer_key"] == body["customer_key"]
    assert world.customer_id not in body["customer_key"]
    for response in (order, customer, address):
        assert not all_keys(response.json()) & NEVER_FOR_FRAUD
        for value in (world.name, world.email, ADDRESS["street"], ADDRESS["phone"],
                      ADDRESS["recipient_name"], world.customer_id):
            assert value not in response.text


async def test_fraud_cannot_read_messages_or_access_logs(client, auth, world):
    fraud = auth(Role.FRAUD_ANALYST, purpose="fraud")
    for resource in (Resource.MESSAGE, Resource.ACCESS_LOG):
        response = await client.get(url_of(resource, world), headers=fraud)
        assert response.status_code == 403
        assert response.json()["code"] == "purpose_not_permitted"


async def test_payment_partner_sees_number_amount_currency_and_status_only(client, auth, world):
    payer = auth(Role.PAYMENT_PARTNER, partner_id=PAYER, purpose="payment")
    response = await client.get(f"/v1/orders/{world.order_number}", headers=payer)
    assert response.status_code == 200
    assert response.json() == {"order_number": world.order_number, "total_amount": "9.00",
                               "currency": "EUR", "payment_status": "pending"}
    customer = await client.get(f"/v1/customers/{world.customer_id}", headers=payer)
    assert customer.status_code == 403
    assert customer.json()["code"] == "purpose_not_permitted"


async def test_logistics_partner_gets_the_shipment_but_never_an_email(client, auth, world):
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id=CARRIER, purpose="delivery")
    response = await client.get(f"/v1/orders/{world.order_number}", headers=carrier)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"order_number", "items", "fulfilment_status", "shipping_address"
                         } | ORDER_TIMES | PROMISES
    assert set(body["shipping_address"]) == SHIP_TO_KEYS
    assert body["shipping_address"]["street"] == ADDRESS["street"]
    assert "email" not in all_keys(body)
    assert world.email not in response.text
    assert "payment_method" not in body and "total_amount" not in body

    customer = await client.get(f"/v1/customers/{world.customer_id}", headers=carrier)
    assert customer.status_code == 404
    assert world.email not in customer.text


async def test_storefront_delivery_and_support_service_customer_views(client, auth, session,
                                                                      world):
    url = f"/v1/customers/{world.customer_id}"
    delivery = await client.get(url, headers=auth(Role.STOREFRONT, purpose="delivery"))
    assert delivery.json() == {"id": world.customer_id, "name": world.name,
                               "email": world.email, "phone": "+8613800138000"}
    service = await client.get(url, headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert set(service.json()) == {"id", "name", "email", "phone", "created_at", "updated_at"}
    # The audit names the fields it handed out, never their values.
    for entry in (await session.scalars(select(AuditEntry))).all():
        recorded = str([getattr(entry, c.name) for c in AuditEntry.__table__.columns])
        for value in (world.name, world.email, "+8613800138000", ADDRESS["street"]):
            assert value not in recorded


async def test_customer_self_view_is_everything_but_pseudonyms(client, auth, world):
    me = auth(Role.CUSTOMER, sub=world.customer_id, purpose="self")
    order = await client.get(f"/v1/orders/{world.order_number}", headers=me)
    assert set(order.json()) == set(RESOURCE_FIELDS[Resource.ORDER]) - {"customer_key",
                                                                        "shipping_region"}


ENDPOINTS = [Resource.CUSTOMER, Resource.ADDRESS, Resource.ORDER, Resource.MESSAGE,
             Resource.ACCESS_LOG]


@pytest.mark.parametrize("resource", ENDPOINTS, ids=str)
@pytest.mark.parametrize(("purpose", "status", "code"), [
    (None, 400, "purpose_required"),
    ("", 400, "purpose_required"),
    ("marketing", 400, "unknown_purpose"),
    ("Service", 400, "unknown_purpose"),
])
async def test_missing_or_unknown_purpose(client, auth, session, world, resource, purpose,
                                          status, code):
    headers = headers_for(auth, Role.CUSTOMER, None, world)
    if purpose is not None:
        headers["X-Purpose"] = purpose
    response = await client.get(url_of(resource, world), headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert await reads_of(session, response) == []


# Delivered orders: the address is sealed for delivery, gone for carriers, kept for service.

async def deliver(client, auth, order_number: str) -> None:
    storefront = auth(Role.STOREFRONT)
    for status in ("shipped", "delivered"):
        response = await client.post(f"/v1/orders/{order_number}/fulfilment",
                                     json={"status": status}, headers=storefront)
        assert response.status_code == 200, response.text


async def test_delivered_order_storefront_delivery_view_has_no_address(client, auth, world):
    await deliver(client, auth, world.order_number)
    response = await client.get(f"/v1/orders/{world.order_number}",
                                headers=auth(Role.STOREFRONT, purpose="delivery"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"order_number", "items", "fulfilment_status"} | ORDER_TIMES | PROMISES
    assert body["fulfilment_status"] == "delivered"
    assert body["delivered_at"] is not None and body["shipped_at"] is not None
    assert ADDRESS["street"] not in response.text


async def test_delivered_order_is_gone_for_the_carrier(client, auth, session, world):
    await deliver(client, auth, world.order_number)
    response = await client.get(
        f"/v1/orders/{world.order_number}",
        headers=auth(Role.LOGISTICS_PARTNER, partner_id=CARRIER, purpose="delivery"))
    assert response.status_code == 410
    assert response.json()["code"] == "shipment_delivered"
    assert ADDRESS["street"] not in response.text
    assert await reads_of(session, response) == []


@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.SUPPORT_AGENT])
async def test_delivered_order_service_view_keeps_the_address(client, auth, world, role):
    await deliver(client, auth, world.order_number)
    response = await client.get(f"/v1/orders/{world.order_number}",
                                headers=auth(role, purpose="service"))
    assert response.status_code == 200
    address = response.json()["shipping_address"]
    assert set(address) == SHIP_TO_KEYS
    assert address["street"] == ADDRESS["street"]


async def test_delivery_list_seals_only_delivered_orders(client, auth, session, world):
    open_number = await create_order(client, headers=auth(Role.STOREFRONT),
                                     customer_id=world.customer_id, address_id=world.address_id)
    await deliver(client, auth, world.order_number)
    response = await client.get(f"/v1/customers/{world.customer_id}/orders",
                                headers=auth(Role.STOREFRONT, purpose="delivery"))
    assert response.status_code == 200
    by_number = {o["order_number"]: o for o in response.json()["items"]}
    assert set(by_number) == {world.order_number, open_number}
    assert "shipping_address" not in by_number[world.order_number]
    assert "shipping_address" in by_number[open_number]

    reads = await reads_of(session, response)
    fields = {e.resource_id: set(e.fields) for e in reads}
    assert fields == {number: set(order) for number, order in by_number.items()}
