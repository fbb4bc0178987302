"""The access export streamed: a history longer than many pages comes out whole, as the
document read at once would, every page audited before it is sent; a client that leaves or a
database that fails midway loses no audit and gets no document that looks complete."""

import json
import logging
import math
import re
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.access import gate
from app.access.callers import Reader
from app.access.sources import Records
from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.security import Actor
from app.identity import public as identity
from app.identity.models import Customer
from app.policy.purposes import Purpose
from app.policy.roles import Role
from app.requests import export
from app.requests.schemas import AccessExport
from tests.factories import create_address, create_customer, create_message, create_order

CHUNK = 3
NAME, EMAIL, STREET = "Paged Person", "paged.person@example.com", "Chunkweg"


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch) -> None:
    monkeypatch.setattr(export, "CHUNK", CHUNK)


async def _history(client, auth) -> dict:
    """A customer with more addresses, orders, messages and complaints than one page."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, name=NAME, email=EMAIL)
    addresses = [await create_address(client, headers=storefront, customer_id=customer_id,
                                      street=f"{STREET} {n}") for n in range(4)]
    numbers = [await create_order(client, headers=storefront, customer_id=customer_id,
                                  address_id=addresses[n % 4]) for n in range(7)]
    for number in numbers[:3]:
        for status in ("shipped", "delivered"):
            await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                              headers=storefront)
    for n in range(5):
        await create_message(client, headers=storefront, customer_id=customer_id,
                             body=f"Question {n} about my order")
    for n in range(4):
        await client.post("/v1/complaints", json={"customer_id": customer_id,
                                                  "body": f"Complaint {n}"}, headers=storefront)
    agent = auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service")
    for _ in range(2):
        await client.get(f"/v1/customers/{customer_id}", headers=agent)
    await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                     json={"granted": False}, headers=agent)
    return {"customer_id": customer_id, "numbers": numbers}


async def _access_request(client, token, customer_id: str) -> str:
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"}, headers=signed_in)
    assert filed.json()["state"] == "completed", filed.text
    return filed.json()["id"]


async def _read_at_once(app, actor: Actor, purpose: Purpose, customer_id: str) -> bytes:
    """The export as it was built before it streamed: every section read whole in one
    transaction and written as one response; rolled back, so it leaves no audit entry."""
    async with app.state.sessions() as session:
        reader = Reader(session, actor, app.state.keys, purpose)
        found = await gate.read_all(reader, identity.CUSTOMERS, identity.record_of(customer_id),
                                    subject_id=customer_id)
        document = {"identity": found[0] if found else None}
        for name, source, records_of in export.SECTIONS:
            if gate.covers(reader, source.resource):
                records = records_of(customer_id)
                query = (records.statement.order_by(*records.order)
                         if isinstance(records, Records) else records)
                document[name] = await gate.read_all(reader, source, query,
                                                     subject_id=customer_id)
        document["retention"] = export.retention(app.state.request_rules.retention)
        body = AccessExport.model_validate(document).model_dump_json(exclude_unset=True)
        await session.rollback()
    return body.encode()


async def test_a_staff_export_is_byte_for_byte_the_document_read_at_once(client, auth, token,
                                                                         app):
    shop = await _history(client, auth)
    request_id = await _access_request(client, token, shop["customer_id"])
    expected = await _read_at_once(app, Actor(sub="agent-7", role=Role.SUPPORT_AGENT),
                                   Purpose.SERVICE, shop["customer_id"])

    streamed = await client.get(f"/v1/requests/{request_id}/export",
                                headers=auth(Role.SUPPORT_AGENT, sub="agent-7",
                                             purpose="service"))

    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"] == "application/json"
    assert "content-length" not in streamed.headers  # streamed, not built whole
    assert streamed.content == expected
    assert len(streamed.json()["orders"]) == 7 > CHUNK


def _without_time(entry: dict) -> tuple:
    return tuple((key, str(value)) for key, value in sorted(entry.items())
                 if key != "occurred_at")


async def test_the_customers_own_export_holds_what_the_document_read_at_once_holds(
        client, auth, token, app, session):
    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    request_id = await _access_request(client, token, customer_id)
    expected = json.loads(await _read_at_once(app, Actor(sub=customer_id, role=Role.CUSTOMER),
                                              Purpose.SELF, customer_id))

    streamed = await client.get(f"/v1/requests/{request_id}/export",
                                headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))

    assert streamed.status_code == 200, streamed.text
    document = streamed.json()
    assert list(document) == list(expected)
    assert {k: v for k, v in document.items() if k != "access_log"} == {
        k: v for k, v in expected.items() if k != "access_log"}
    assert [len(document[s]) for s in ("addresses", "orders", "messages", "complaints")] == [
        4, 7, 5, 4]
    # The history before the export is listed alike; after it, each document lists the reads
    # of its own earlier sections (the same reads, at other moments), never its own paging.
    cut = next(i for i, e in enumerate(expected["access_log"])
               if e["purpose"] == "self" and e["actor_id"] == customer_id)
    assert document["access_log"][:cut] == expected["access_log"][:cut]
    assert sorted(map(_without_time, document["access_log"][cut:])) == sorted(
        map(_without_time, expected["access_log"][cut:]))
    assert not any(e["resource"] == "access_log" for e in document["access_log"])

    reads = (await session.scalars(select(AuditEntry).where(
        AuditEntry.request_id == streamed.headers["x-request-id"]))).all()
    assert {e.action for e in reads} == {"read"}
    assert Counter(e.resource for e in reads) == {
        "customer": 1, "address": 4, "order": 7, "message": 5, "complaint": 4, "consent": 1,
        "access_log": math.ceil(len(document["access_log"]) / CHUNK)}
    assert {e.resource_id for e in reads if e.resource == "order"} == set(shop["numbers"])


async def _call(app, path: str, headers: dict[str, str], *, leave_after: int | None = None
                ) -> list[dict]:
    """Call the app as a server would; with `leave_after`, the client disconnects after that
    many body messages. Returns what the app sent."""
    import asyncio

    sent: list[dict] = []
    gone = asyncio.Event()
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        bodies = [m for m in sent if m["type"] == "http.response.body"]
        if leave_after is not None and len(bodies) >= leave_after:
            gone.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("test", 80),
             "headers": [(b"host", b"test"), *((k.lower().encode(), v.encode())
                                              for k, v in headers.items())]}
    await app(scope, receive, send)
    return sent


def _body(sent: list[dict]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _completed(sent: list[dict]) -> bool:
    return any(m["type"] == "http.response.body" and not m.get("more_body", False)
               for m in sent)


async def test_a_client_that_leaves_midway_leaves_the_audit_of_what_it_got(client, auth, token,
                                                                           app, session):
    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    request_id = await _access_request(client, token, customer_id)

    sent = await _call(app, f"/v1/requests/{request_id}/export",
                       auth(Role.CUSTOMER, sub=customer_id, purpose="self"), leave_after=7)

    assert sent[0]["status"] == 200 and not _completed(sent)
    got = set(re.findall(rb'"order_number":"([^"]+)"', _body(sent)))
    assert got  # the client left inside the orders
    request_header = dict(sent[0]["headers"])[b"x-request-id"].decode()
    audited = set((await session.scalars(select(AuditEntry.resource_id).where(
        AuditEntry.request_id == request_header, AuditEntry.resource == "order"))).all())
    assert {n.decode() for n in got} <= audited
    assert len(audited) < len(shop["numbers"])  # what it never got was never read
    assert not (await session.scalars(select(AuditEntry).where(
        AuditEntry.request_id == request_header, AuditEntry.resource == "access_log"))).all()


async def test_a_database_failure_midway_ends_the_stream_without_its_end_and_logs_no_values(
        client, auth, token, app, session, monkeypatch, caplog):
    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    request_id = await _access_request(client, token, customer_id)
    pages = 0
    read_page = gate.read_page

    async def failing(*args, **kwargs):
        nonlocal pages
        pages += 1
        if pages == 3:
            raise OperationalError(f"SELECT '{NAME}'", {"email": EMAIL},
                                   Exception(f"connection lost reading {STREET} 1"))
        return await read_page(*args, **kwargs)

    monkeypatch.setattr(export.gate, "read_page", failing)
    caplog.set_level(logging.WARNING)

    sent = await _call(app, f"/v1/requests/{request_id}/export",
                       auth(Role.CUSTOMER, sub=customer_id, purpose="self"))

    assert sent[0]["status"] == 200
    assert not _completed(sent)  # the server closes the connection: no end of the document
    with pytest.raises(json.JSONDecodeError):
        json.loads(_body(sent))
    stopped = [r for r in caplog.records if r.name == "app.requests.export"]
    assert len(stopped) == 1
    assert request_id in stopped[0].getMessage() and "OperationalError" in stopped[0].getMessage()
    assert "section orders" in stopped[0].getMessage()
    for value in (NAME, EMAIL, STREET, customer_id):
        assert value not in caplog.text


async def test_a_customer_deleted_during_the_export_stops_it(client, auth, token, app, session,
                                                            monkeypatch, caplog):
    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    request_id = await _access_request(client, token, customer_id)
    read_page = gate.read_page

    async def deleted_after_the_addresses(reader, source, *args, **kwargs):
        if source.resource == "address" and kwargs["cursor"]:  # the last page of addresses
            await reader.session.execute(Customer.__table__.update().where(
                Customer.id == customer_id).values(erased_at=utcnow()))
        return await read_page(reader, source, *args, **kwargs)

    monkeypatch.setattr(export.gate, "read_page", deleted_after_the_addresses)
    caplog.set_level(logging.WARNING)

    sent = await _call(app, f"/v1/requests/{request_id}/export",
                       auth(Role.CUSTOMER, sub=customer_id, purpose="self"))

    assert sent[0]["status"] == 200 and not _completed(sent)
    assert b'"orders":[' in _body(sent) and b"order_number" not in _body(sent)
    (stopped,) = [r.getMessage() for r in caplog.records if r.name == "app.requests.export"]
    assert "section orders" in stopped and "CustomerNotFound" in stopped


async def test_refusals_come_before_the_first_byte_as_problems(client, auth, token):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = await _access_request(client, token, customer_id)

    fraud = await client.get(f"/v1/requests/{request_id}/export",
                             headers=auth(Role.FRAUD_ANALYST, purpose="fraud"))
    other = await client.get(f"/v1/requests/{request_id}/export",
                             headers=auth(Role.CUSTOMER, sub="someone-else", purpose="self"))

    assert fraud.headers["content-type"] == other.headers["content-type"] == (
        "application/problem+json")
    assert (fraud.status_code, other.status_code) == (403, 404)
