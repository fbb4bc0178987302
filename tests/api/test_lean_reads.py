"""The lean reads (a customer, an order, a customer's access-log page) keep every check of the
gate: they answer byte for byte what the view model renders through the ORM path, write the
same keyed audit entry, and refuse, 404 and stay unaudited where the ORM path does."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text, update

from app.access import gate
from app.access.callers import Reader
from app.access.projection import GATE_TOKEN, GatedJSON, Projection
from app.audit.hashing import HASHED_COLUMNS, mac_ok
from app.audit.models import AuditEntry
from app.audit.readers import ACCESS_LOG
from app.audit.repository import about
from app.audit.schemas import AccessLogEntry
from app.core.db import utcnow
from app.core.pagination import Page
from app.core.security import Actor
from app.identity import repository as customers
from app.identity.models import Customer
from app.identity.readers import CUSTOMERS
from app.identity.schemas import CustomerView
from app.orders import repository as orders
from app.orders.readers import ORDERS
from app.orders.schemas import OrderView
from app.policy.decisions import decide
from app.policy.purposes import PURPOSE_TABLE, Purpose, Resource
from app.policy.roles import PARTNER_ROLES, Role
from tests.conftest import TEST_DATABASE_URL
from tests.factories import create_address, create_customer, create_order

CARRIER, PAYER = "swiftship", "paypal"
ENTRY = ("actor_id", "actor_role", "purpose", "action", "subject_id", "resource", "resource_id",
         "fields")


@dataclass
class Shop:
    """A customer with an address and an order, and a second customer."""

    customer_id: str
    order_number: str
    other_id: str


@pytest.fixture
async def shop(client, auth) -> Shop:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, name="Lean Reader")
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id, logistics_partner_id=CARRIER,
                                      payment_partner_id=PAYER)
    other_id = await create_customer(client, headers=storefront)
    return Shop(customer_id, order_number, other_id)


def _actor(role: Role, shop: Shop) -> Actor:
    if role is Role.CUSTOMER:
        return Actor(sub=shop.customer_id, role=role)
    if role in PARTNER_ROLES:
        return Actor(sub=f"{role}-bot", role=role,
                     partner_id=CARRIER if role is Role.LOGISTICS_PARTNER else PAYER)
    return Actor(sub=f"{role}-1", role=role)


def _headers(auth, actor: Actor, purpose: str) -> dict:
    return auth(actor.role, sub=actor.sub, partner_id=actor.partner_id, purpose=purpose)


def _recorded(entry: AuditEntry) -> tuple:
    return tuple(getattr(entry, column) for column in ENTRY)


async def _reads(session, response) -> list[AuditEntry]:
    return list((await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read",
        AuditEntry.request_id == response.headers["x-request-id"]))).all())


async def _through_the_orm(app, actor: Actor, purpose: Purpose, view: type[BaseModel],
                           read: Callable[[Reader], Awaitable[Any]]) -> tuple[bytes, tuple]:
    """What the ORM path of the gate answers and records for the same read (rolled back)."""
    async with app.state.sessions() as db:
        reader = Reader(db, actor, app.state.keys, purpose)
        body = view.model_validate(await read(reader)).model_dump_json(exclude_unset=True)
        (entry,) = (await db.scalars(select(AuditEntry).where(
            AuditEntry.action == "read", AuditEntry.actor_id == (actor.partner_id or actor.sub))
            .order_by(AuditEntry.occurred_at.desc()).limit(1))).all()
        recorded = _recorded(entry)
        await db.rollback()
    return body.encode(), recorded


async def _same_as_the_orm_path(app, client, auth, session, actor: Actor, purpose: Purpose,
                                url: str, view: type[BaseModel], read) -> dict:
    expected_body, expected_entry = await _through_the_orm(app, actor, purpose, view, read)
    response = await client.get(url, headers=_headers(auth, actor, purpose.value))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == expected_body
    (entry,) = await _reads(session, response)
    assert _recorded(entry) == expected_entry
    assert mac_ok(app.state.keys.audit_key, {c: getattr(entry, c) for c in HASHED_COLUMNS},
                  entry.entry_mac)
    return response.json()


def _readers_of(resource: Resource) -> list[tuple[Role, Purpose]]:
    return [(role, purpose) for purpose, rule in PURPOSE_TABLE.items()
            for role in sorted(rule.roles) if resource in rule.fields]


CUSTOMER_READERS = [(r, p) for r, p in _readers_of(Resource.CUSTOMER) if r not in PARTNER_ROLES]


@pytest.mark.parametrize(("role", "purpose"), CUSTOMER_READERS,
                         ids=[f"{r}-{p}" for r, p in CUSTOMER_READERS])
async def test_a_customer_read_is_what_the_orm_path_answers_and_records(
        app, client, auth, session, shop, role, purpose):
    actor = _actor(role, shop)

    async def read(reader: Reader) -> Projection:
        stmt, params = customers.readable_customer(actor, shop.customer_id)
        return await gate.read_one(reader, CUSTOMERS, stmt.params(params))

    body = await _same_as_the_orm_path(app, client, auth, session, actor, purpose,
                                       f"/v1/customers/{shop.customer_id}", CustomerView, read)
    assert tuple(body) == decide(role, purpose, Resource.CUSTOMER).fields


async def _deliver(client, auth, order_number: str) -> None:
    for step in ("shipped", "delivered"):
        moved = await client.post(f"/v1/orders/{order_number}/fulfilment",
                                  json={"status": step}, headers=auth(Role.STOREFRONT))
        assert moved.status_code == 200, moved.text


ORDER_READS = [(role, purpose, delivered) for role, purpose in _readers_of(Resource.ORDER)
               for delivered in (False, True)
               if decide(role, purpose, Resource.ORDER, delivered=delivered).allowed]
"""Every role and purpose reading an order still on its way and, where allowed, a delivered
one (a carrier's is gone: test_a_delivered_shipment_is_gone_for_the_carrier)."""


@pytest.mark.parametrize(("role", "purpose", "delivered"), ORDER_READS,
                         ids=[f"{r}-{p}-{'delivered' if d else 'open'}"
                              for r, p, d in ORDER_READS])
async def test_an_order_read_is_what_the_orm_path_answers_and_records(
        app, client, auth, session, shop, role, purpose, delivered):
    if delivered:
        await _deliver(client, auth, shop.order_number)
    decision = decide(role, purpose, Resource.ORDER, delivered=delivered)
    actor = _actor(role, shop)

    async def read(reader: Reader) -> Projection:
        return await gate.read_one(reader, ORDERS, orders.by_number(
            actor, shop.order_number, with_items="items" in gate.fields_for(reader, ORDERS)))

    body = await _same_as_the_orm_path(app, client, auth, session, actor, purpose,
                                       f"/v1/orders/{shop.order_number}", OrderView, read)
    assert tuple(body) == decision.fields
    if "items" in body:
        assert body["items"] == [{"product_name": "Dog chew rope", "quantity": 2,
                                  "unit_price": "4.50"}]
    assert ("shipping_address" in body) == ("shipping_address" in decision.fields)


async def test_an_access_log_page_is_what_the_orm_path_answers_and_records(
        app, client, auth, session, shop):
    for _ in range(3):
        await client.get(f"/v1/customers/{shop.customer_id}",
                         headers=auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service"))
    actor = _actor(Role.CUSTOMER, shop)
    url = f"/v1/customers/{shop.customer_id}/access-log"
    cursor = None
    for _ in range(2):  # the first page, then the one its cursor points to

        async def read(reader: Reader, cursor: str | None = cursor) -> dict:
            return await gate.read_page(
                reader, ACCESS_LOG, about(shop.customer_id),
                order=(AuditEntry.occurred_at, AuditEntry.id), cursor=cursor, limit=2,
                descending=True, subject_id=shop.customer_id)

        page = await _same_as_the_orm_path(
            app, client, auth, session, actor, Purpose.SELF,
            f"{url}?limit=2" + (f"&cursor={cursor}" if cursor else ""), Page[AccessLogEntry],
            read)
        assert len(page["items"]) == 2 and page["next_cursor"]
        cursor = page["next_cursor"]


async def test_another_customers_id_is_not_found_and_not_audited(client, auth, session, shop):
    me = auth(Role.CUSTOMER, sub=shop.customer_id, purpose="self")
    for url in (f"/v1/customers/{shop.other_id}", f"/v1/customers/{shop.other_id}/access-log"):
        other = await client.get(url, headers=me)
        assert (other.status_code, other.json()["code"]) == (404, "customer_not_found")
        assert await _reads(session, other) == []


async def test_an_erased_customer_is_not_found_and_not_audited(client, auth, session, shop,
                                                               inspection_engine):
    async with inspection_engine.begin() as connection:
        await connection.execute(update(Customer).where(Customer.id == shop.customer_id)
                                 .values(erased_at=utcnow()))
    for url, headers in ((f"/v1/customers/{shop.customer_id}",
                          auth(Role.SUPPORT_AGENT, purpose="service")),
                         (f"/v1/customers/{shop.customer_id}/access-log",
                          auth(Role.CUSTOMER, sub=shop.customer_id, purpose="self"))):
        gone = await client.get(url, headers=headers)
        assert (gone.status_code, gone.json()["code"]) == (404, "customer_not_found")
        assert await _reads(session, gone) == []


async def test_withdrawn_consent_refuses_the_read_and_records_nothing(client, auth, session,
                                                                     shop):
    notify = auth(Role.STOREFRONT, purpose="notifications")
    for url in (f"/v1/customers/{shop.customer_id}", f"/v1/orders/{shop.order_number}"):
        assert (await client.get(url, headers=notify)).status_code == 200
    withdrawn = await client.put(f"/v1/customers/{shop.customer_id}/consents/notifications",
                                 json={"granted": False},
                                 headers=auth(Role.CUSTOMER, sub=shop.customer_id,
                                              purpose="self"))
    assert withdrawn.status_code == 200, withdrawn.text
    for url in (f"/v1/customers/{shop.customer_id}", f"/v1/orders/{shop.order_number}"):
        refused = await client.get(url, headers=notify)
        assert (refused.status_code, refused.json()["code"]) == (403, "consent_withdrawn")
        assert await _reads(session, refused) == []


async def test_a_delivered_shipment_is_gone_for_the_carrier(client, auth, session, shop):
    carrier = auth(Role.LOGISTICS_PARTNER, sub="carrier-bot", partner_id=CARRIER,
                   purpose="delivery")
    url = f"/v1/orders/{shop.order_number}"
    assert "shipping_address" in (await client.get(url, headers=carrier)).json()
    await _deliver(client, auth, shop.order_number)
    gone = await client.get(url, headers=carrier)
    assert (gone.status_code, gone.json()["code"]) == (410, "shipment_delivered")
    assert "/destruction" in gone.json()["detail"]
    assert await _reads(session, gone) == []
    shop_view = await client.get(url, headers=auth(Role.STOREFRONT, purpose="delivery"))
    assert shop_view.status_code == 200
    assert "shipping_address" not in shop_view.json()
    (entry,) = await _reads(session, shop_view)
    assert entry.fields == list(shop_view.json())


async def test_another_carriers_shipment_is_not_found_and_not_audited(client, auth, session,
                                                                      shop):
    other = await client.get(f"/v1/orders/{shop.order_number}",
                             headers=auth(Role.LOGISTICS_PARTNER, partner_id="othership",
                                          purpose="delivery"))
    assert (other.status_code, other.json()["code"]) == (404, "order_not_found")
    assert await _reads(session, other) == []


def test_gated_json_renders_projections_only():
    projection = Projection({"name": "Mei Lin"}, made_by=GATE_TOKEN)
    assert GatedJSON(projection).body == b'{"name":"Mei Lin"}'
    page = GatedJSON({"items": [projection], "next_cursor": None})
    assert page.body == b'{"items":[{"name":"Mei Lin"}],"next_cursor":null}'
    for leak in ({"name": "Mei Lin"}, {"items": [{"name": "Mei Lin"}], "next_cursor": None}):
        with pytest.raises(TypeError, match="projections of the read gate"):
            GatedJSON(leak)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: the server ends sessions")
async def test_lean_reads_survive_connections_killed_by_the_server(client, auth, shop,
                                                                   inspection_engine):
    urls = [f"/v1/customers/{shop.customer_id}", f"/v1/orders/{shop.order_number}",
            f"/v1/customers/{shop.customer_id}/access-log"]
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    me = auth(Role.CUSTOMER, sub=shop.customer_id, purpose="self")
    for url in urls:
        assert (await client.get(url, headers=me if "access" in url else agent)).status_code == 200
    async with inspection_engine.begin() as connection:
        await connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    await inspection_engine.dispose()  # its own idle connections were ended too
    statuses = [(await client.get(url, headers=me if "access" in url else agent)).status_code
                for url in urls * 2]
    assert statuses == [200] * 6


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: the driver pool")
async def test_lean_reads_take_no_connection_of_the_engine(app, client, auth, shop):
    """The three lean reads run on the driver pool's connections, outside any transaction:
    the engine's pool hands out nothing for them, and each read is still audited."""
    from sqlalchemy import event

    checkouts: list[object] = []
    engine = app.state.engine.sync_engine
    listener = lambda *_: checkouts.append(object())  # noqa: E731
    event.listen(engine, "checkout", listener)
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    storefront = auth(Role.STOREFRONT, purpose="delivery")
    me = auth(Role.CUSTOMER, sub=shop.customer_id, purpose="self")
    try:
        for url, headers in ((f"/v1/customers/{shop.customer_id}", agent),
                             (f"/v1/orders/{shop.order_number}", storefront),
                             (f"/v1/customers/{shop.customer_id}/access-log", me)):
            assert (await client.get(url, headers=headers)).status_code == 200
    finally:
        event.remove(engine, "checkout", listener)
    assert checkouts == []
    async with app.state.engine.connect() as connection:
        reads = await connection.scalar(text(
            "SELECT count(*) FROM audit_entry WHERE action = 'read' AND subject_id = :s"),
            {"s": shop.customer_id})
    assert reads == 3
