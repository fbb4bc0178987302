"""A deletion larger than one batch: answered at once, the customer unreadable from then on,
the rest erased batch by batch; an erasure interrupted between batches is finished later (by
the retention loop at start-up), holds kept, audited once."""

import asyncio
import logging

import pytest
from sqlalchemy import func, insert, select

from app.audit.models import AuditEntry
from app.core.db import new_id, utcnow
from app.orders import public as orders
from app.orders.models import Order
from app.policy.roles import Role
from app.requests import erasure
from app.requests.models import PrivacyRequest
from app.retention import job
from app.retention.models import LegalHold
from tests.factories import create_address, create_customer, create_message, create_order
from tests.retention_world import stored_text

NAME, EMAIL = "Batch Erasable", "batch.erasable@example.com"
STREETS = [f"Batchgasse {n}" for n in range(3)]
RECIPIENTS = [f"Addressee {n}" for n in range(3)]
BODIES = [f"Message to forget {n}" for n in range(5)]
COMPLAINTS = [f"Complaint to forget {n}" for n in range(3)]
ARRIVED, ON_THE_WAY = 5, 1
ROWS = ARRIVED + len(STREETS) + len(BODIES) + len(COMPLAINTS) + 2  # two consent events


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch) -> None:
    monkeypatch.setattr(erasure, "BATCH", 2)
    monkeypatch.setattr(erasure, "PACE", 0.0)


async def _history(client, auth) -> dict:
    """A customer with more of every kind of row than one batch."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, name=NAME, email=EMAIL)
    addresses = [await create_address(client, headers=storefront, customer_id=customer_id,
                                      street=street, recipient_name=recipient)
                 for street, recipient in zip(STREETS, RECIPIENTS, strict=True)]
    numbers = [await create_order(client, headers=storefront, customer_id=customer_id,
                                  address_id=addresses[n % len(addresses)])
               for n in range(ARRIVED + ON_THE_WAY)]  # order n ships to address n % 3
    for number in numbers:
        moves = ("shipped",) if number in numbers[ARRIVED:] else ("shipped", "delivered")
        for status in moves:
            await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                              headers=storefront)
    for body in BODIES:
        await create_message(client, headers=storefront, customer_id=customer_id, body=body)
    for body in COMPLAINTS:
        await client.post("/v1/complaints", json={"customer_id": customer_id, "body": body},
                          headers=storefront)
    for granted, headers in ((False, auth(Role.SUPPORT_AGENT, purpose="service")),
                             (True, auth(Role.CUSTOMER, sub=customer_id, purpose="self"))):
        changed = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                                   json={"granted": granted}, headers=headers)
        assert changed.status_code == 200, changed.text
    return {"customer_id": customer_id, "arrived": numbers[:ARRIVED],
            "on_the_way": numbers[ARRIVED:]}


async def _delete(client, token, customer_id: str):
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    done = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                  "type": "deletion"}, headers=signed_in)
    assert done.status_code == 201 and done.json()["state"] == "completed", done.text
    return done.json()


async def _erasure(client, auth, request_id: str) -> dict:
    read = await client.get(f"/v1/requests/{request_id}",
                            headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
    return read.json()["outcome"]["erasure"]


async def _erase_entries(session, customer_id: str) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.subject_id == customer_id, AuditEntry.action == "erase"))


def _failing_once(monkeypatch, module, name: str, *, on_call: int) -> None:
    """Make `module.name` fail once, on its `on_call`-th call: a database gone mid-erasure."""
    real, calls = getattr(module, name), 0

    async def flaky(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == on_call:
            raise ConnectionResetError(f"lost while erasing {NAME}")
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)


async def test_a_deletion_larger_than_a_batch_is_erased_batch_by_batch_and_audited_once(
        client, auth, token, app, session, monkeypatch, deliver_mail):
    shop = await _history(client, auth)
    batches: list[int] = []
    pseudonymize = orders.pseudonymize

    async def counted(*args, **kwargs):
        batches.append(await pseudonymize(*args, **kwargs))
        return batches[-1]

    monkeypatch.setattr(orders, "pseudonymize", counted)

    answer = await _delete(client, token, shop["customer_id"])
    await deliver_mail()  # "your data was deleted" goes out; only its delivery record stays

    assert answer["outcome"]["erased"][0] == "identity"
    assert batches == [2, 2, 1]  # each batch its own transaction, at most BATCH rows
    progress = await _erasure(client, auth, answer["id"])
    assert (progress["state"], progress["rows"]) == ("finished", ROWS)
    stored = await stored_text(session, app.state.keys)
    # the order on its way (to address 2) keeps its ship-to until it arrives
    for value in (NAME, EMAIL, *STREETS[:2], *RECIPIENTS[:2], *BODIES, *COMPLAINTS):
        assert value not in stored, f"{value!r} survived"
    service = auth(Role.SUPPORT_AGENT, purpose="service")
    for number in shop["arrived"]:
        order = (await client.get(f"/v1/orders/{number}", headers=service)).json()
        assert order["shipping_address"] is None and order["total_amount"] == "9.00"
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")
    parcel = await client.get(f"/v1/orders/{shop['on_the_way'][0]}", headers=carrier)
    assert parcel.json()["shipping_address"]["street"] == STREETS[ARRIVED % len(STREETS)]
    assert await _erase_entries(session, shop["customer_id"]) == 1


async def test_an_interrupted_erasure_leaves_nothing_readable_and_is_finished_later(
        client, auth, token, app, session, monkeypatch, caplog, deliver_mail):
    from app.messages import public as messages

    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    _failing_once(monkeypatch, messages, "erase", on_call=2)
    caplog.set_level(logging.WARNING)

    answer = await _delete(client, token, customer_id)

    progress = await _erasure(client, auth, answer["id"])
    assert progress == {"state": "in_progress", "rows": ARRIVED + len(STREETS) + 2}
    stored = await stored_text(session, app.state.keys)
    assert [body in stored for body in BODIES].count(True) == len(BODIES) - 2
    service = auth(Role.SUPPORT_AGENT, purpose="service")
    for path in ("", "/addresses", "/messages", "/consents"):
        gone = await client.get(f"/v1/customers/{customer_id}{path}", headers=service)
        assert gone.status_code == 404, (path, gone.text)
    complaints = await client.get("/v1/complaints", headers=auth(Role.PRIVACY_OFFICER,
                                                                 purpose="oversight"))
    assert complaints.status_code == 200
    assert customer_id not in complaints.text
    order = await client.get(f"/v1/orders/{shop['arrived'][0]}", headers=service)
    assert order.status_code == 200 and order.json()["shipping_address"] is None
    logged = [r.getMessage() for r in caplog.records if r.name == "app.requests.erasure"]
    assert len(logged) == 1 and answer["id"] in logged[0]
    assert "ConnectionResetError" in logged[0] and NAME not in caplog.text

    assert await erasure.finish_erasures(app.state.sessions) == 1
    await deliver_mail()

    done = await _erasure(client, auth, answer["id"])
    assert (done["state"], done["rows"]) == ("finished", ROWS)  # every row counted once
    stored = await stored_text(session, app.state.keys)
    assert not [value for value in (*BODIES, *COMPLAINTS, NAME) if value in stored]
    assert await _erase_entries(session, customer_id) == 1
    assert await erasure.finish_erasures(app.state.sessions) == 0


async def test_the_retention_loop_finishes_interrupted_erasures_at_start_up(
        client, auth, token, app, monkeypatch):
    shop = await _history(client, auth)
    _failing_once(monkeypatch, orders, "pseudonymize", on_call=1)
    answer = await _delete(client, token, shop["customer_id"])
    assert (await _erasure(client, auth, answer["id"]))["state"] == "in_progress"

    loop = asyncio.create_task(job.run_forever(
        app.state.sessions, app.state.request_rules.retention, keys=app.state.keys,
        interval=3600, batch=100))
    try:
        for _ in range(100):
            if (await _erasure(client, auth, answer["id"]))["state"] == "finished":
                break
            await asyncio.sleep(0.1)
    finally:
        loop.cancel()
    progress = await _erasure(client, auth, answer["id"])
    assert (progress["state"], progress["rows"]) == ("finished", ROWS)


async def test_a_hold_placed_meanwhile_is_kept_by_the_rest_of_the_erasure(
        client, auth, token, app, session, monkeypatch):
    shop = await _history(client, auth)
    customer_id = shop["customer_id"]
    _failing_once(monkeypatch, orders, "pseudonymize", on_call=2)
    answer = await _delete(client, token, customer_id)
    whole = (await session.scalars(select(Order.order_number).where(
        Order.customer_id == customer_id, Order.pseudonymized_at.is_(None),
        Order.fulfilment_status == "delivered"))).all()
    assert len(whole) == ARRIVED - 2
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    held = await client.post("/v1/holds", headers=officer, json={
        "order_number": whole[0], "reason": "Chargeback dispute", "reference": "CB-9"})
    assert held.status_code == 201, held.text
    async with app.state.engine.begin() as connection:  # the API refuses erased customers
        await connection.execute(insert(LegalHold).values(
            id=new_id(), customer_id=customer_id, reason="Court order", reference="C-7",
            placed_at=utcnow(), placed_by="dpo"))

    assert await erasure.finish_erasures(app.state.sessions) == 0  # held whole: nothing goes
    assert (await _erasure(client, auth, answer["id"]))["rows"] == 2
    async with app.state.engine.begin() as connection:
        await connection.execute(LegalHold.__table__.update().where(
            LegalHold.reference == "C-7").values(lifted_at=utcnow(), lifted_by="dpo"))
    assert await erasure.finish_erasures(app.state.sessions) == 1

    service = auth(Role.SUPPORT_AGENT, purpose="service")
    kept = (await client.get(f"/v1/orders/{whole[0]}", headers=service)).json()
    assert kept["shipping_address"]["recipient_name"] in RECIPIENTS
    for number in whole[1:]:
        order = (await client.get(f"/v1/orders/{number}", headers=service)).json()
        assert order["shipping_address"] is None
    assert (await _erasure(client, auth, answer["id"]))["rows"] == ROWS - 1


async def test_a_held_customer_is_answered_without_an_erasure_to_finish(client, auth, token,
                                                                        session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    await client.post("/v1/holds", headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"),
                      json={"customer_id": customer_id, "reason": "Court order",
                            "reference": "C-8"})

    answer = await _delete(client, token, customer_id)

    assert answer["outcome"]["erased"] == [] and "erasure" not in answer["outcome"]
    stored = await session.scalar(select(PrivacyRequest.outcome).where(
        PrivacyRequest.id == answer["id"]))
    assert "erasure" not in stored
