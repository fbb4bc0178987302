"""Twenty parallel calls at each state transition on PostgreSQL: exactly one winner, one
effect, one email, the losers 409 (or the winner's answer where that is the contract), no 500.

SQLite serializes writers and would hide races, so these run on PostgreSQL only.
"""

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.consents.models import ConsentEvent
from app.orders.models import Order
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from app.requests.models import PrivacyRequest
from tests.conftest import TEST_DATABASE_URL
from tests.factories import create_address, create_customer, create_order

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL or TEST_DATABASE_URL.startswith("sqlite"),
    reason="races need PostgreSQL (SQLite serializes writers); set PRIVACY_TEST_DATABASE_URL")

N = 20


async def _fire(call, n: int = N) -> list:
    """`n` parallel calls; their responses (no 500 among them)."""
    responses = await asyncio.gather(*(call() for _ in range(n)))
    assert not [r for r in responses if r.status_code >= 500], [r.text for r in responses]
    return responses


def _statuses(responses) -> Counter:
    return Counter(r.status_code for r in responses)


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def _mails(session, customer_id: str, kind: str) -> int:
    return await _count(session, OutboxMessage, OutboxMessage.customer_id == customer_id,
                        OutboxMessage.kind == kind)


async def _code(session, keys, customer_id: str) -> str:
    row = await session.scalar(select(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.kind == "verification_code"))
    body = keys.cipher.decrypt(row.body_enc, context="outbox_message.body", row_id=row.id)
    return next(w.strip(".") for w in body.split() if w.strip(".").isdigit()
                and len(w.strip(".")) == 6)


async def test_parallel_filings_make_one_open_request_and_one_code_mail(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    customer = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    responses = await _fire(lambda: client.post(
        "/v1/requests", json={"customer_id": customer_id, "type": "access"}, headers=customer))
    assert _statuses(responses) == {201: 1, 200: N - 1}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(session, PrivacyRequest, PrivacyRequest.customer_id == customer_id) == 1
    assert await _mails(session, customer_id, "verification_code") == 1


async def _filed(client, auth, session, app, type_: str = "access", **extra):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    customer = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    filed = await client.post("/v1/requests", headers=customer,
                              json={"customer_id": customer_id, "type": type_, **extra})
    assert filed.status_code == 201, filed.text
    return customer_id, customer, filed.json()["id"], await _code(session, app.state.keys,
                                                                  customer_id)


@pytest.mark.parametrize("type_", ["access", "deletion"])
async def test_parallel_right_codes_carry_the_request_out_once(client, auth, session, app,
                                                               type_):
    customer_id, customer, request_id, code = await _filed(client, auth, session, app, type_)
    responses = await _fire(lambda: client.post(f"/v1/requests/{request_id}/verify",
                                                json={"code": code}, headers=customer))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"request_not_open"}
    assert all("completed" in r.json()["detail"] for r in responses if r.status_code == 409)
    assert await _mails(session, customer_id, "request_outcome") == 1


async def test_parallel_wrong_codes_count_one_by_one(client, auth, session, app):
    customer_id, customer, request_id, _ = await _filed(client, auth, session, app)
    responses = await _fire(lambda: client.post(f"/v1/requests/{request_id}/verify",
                                                json={"code": "000000"}, headers=customer))
    # one by one: four wrong, the fifth locks (and rejects), the rest find it rejected
    assert _statuses(responses) == {422: 4, 429: 1, 409: N - 5}
    stored = await session.get(PrivacyRequest, request_id)
    assert (stored.code_attempts, stored.state) == (5, "rejected")
    assert await _count(session, AuditEntry, AuditEntry.action == "lock_verification",
                        AuditEntry.subject_id == customer_id) == 1


async def test_parallel_rejections_reject_and_mail_once(client, auth, session, app):
    customer_id, _, request_id, _ = await _filed(client, auth, session, app)
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    responses = await _fire(lambda: client.post(f"/v1/requests/{request_id}/reject",
                                                json={"reason": "Filed by mistake."},
                                                headers=officer))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert await _mails(session, customer_id, "request_outcome") == 1


async def test_parallel_corrections_apply_once(client, auth, session, app):
    customer_id, customer, request_id, code = await _filed(client, auth, session, app,
                                                           "correction")
    verified = await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                                 headers=customer)
    assert verified.json()["state"] == "verified"
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    responses = await _fire(lambda: client.post(f"/v1/requests/{request_id}/correction",
                                                json={"name": "Corrected Name"},
                                                headers=agent))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert await _count(session, AuditEntry, AuditEntry.action == "update",
                        AuditEntry.subject_id == customer_id) == 1
    assert await _mails(session, customer_id, "request_outcome") == 1


async def test_parallel_deletions_of_one_customer_never_deadlock(client, auth, token, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    address_id = await create_address(client, headers=auth(Role.STOREFRONT),
                                      customer_id=customer_id)
    await create_order(client, headers=auth(Role.STOREFRONT), customer_id=customer_id,
                       address_id=address_id)
    signed_in = {"Authorization": "Bearer " + token(Role.STOREFRONT, "storefront-1",
                                                    signed_in_customer=customer_id),
                 "X-Purpose": "service"}
    responses = await _fire(lambda: client.post(
        "/v1/requests", json={"customer_id": customer_id, "type": "deletion"},
        headers=signed_in))
    assert _statuses(responses) == {201: 1, 404: N - 1}  # then the customer is gone
    assert await _count(session, PrivacyRequest, PrivacyRequest.customer_id == customer_id,
                        PrivacyRequest.state == "completed") == 1
    assert await _mails(session, customer_id, "request_outcome") == 1


async def test_parallel_complaint_answers_answer_and_mail_once(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    created = await client.post("/v1/complaints", headers=auth(Role.STOREFRONT), json={
        "customer_id": customer_id, "subject": "Late parcel", "body": "Where is my cat bed?"})
    complaint_id = created.json()["id"]
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    responses = await _fire(lambda: client.post(f"/v1/complaints/{complaint_id}/answer",
                                                json={"answer": "It ships today."},
                                                headers=agent))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert await _mails(session, customer_id, "complaint_answer") == 1


async def _order(client, auth) -> tuple[str, str]:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    return customer_id, await create_order(client, headers=storefront, customer_id=customer_id,
                                           address_id=address_id, logistics_partner_id="swiftship",
                                           payment_partner_id="paypal")


async def test_parallel_delivery_and_cancellation_have_one_winner(client, auth, session):
    customer_id, number = await _order(client, auth)
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship")
    await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "shipped"},
                      headers=carrier)
    storefront = auth(Role.STOREFRONT)
    calls = [(carrier, "delivered"), (storefront, "cancelled")] * (N // 2)
    responses = await asyncio.gather(*(client.post(
        f"/v1/orders/{number}/fulfilment", json={"status": status}, headers=headers)
        for headers, status in calls))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "invalid_status_transition"}
    order = await client.get(f"/v1/orders/{number}", headers=auth(Role.SUPPORT_AGENT,
                                                                  purpose="service"))
    final = order.json()["fulfilment_status"]
    assert (order.json()["delivered_at"] is None) == (final == "cancelled")
    assert (order.json()["cancelled_at"] is None) == (final == "delivered")
    assert await _count(session, AuditEntry, AuditEntry.action == "update",
                        AuditEntry.resource_id == number) == 2


async def test_parallel_payment_reports_have_one_winner(client, auth, session):
    _, number = await _order(client, auth)
    payer = auth(Role.PAYMENT_PARTNER, partner_id="paypal")
    responses = await _fire(lambda: client.put(f"/v1/orders/{number}/payment-status",
                                               json={"status": "paid"}, headers=payer))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert await _count(session, AuditEntry, AuditEntry.action == "update",
                        AuditEntry.resource_id == number) == 1


async def test_parallel_destruction_confirmations_are_recorded_once(client, auth, session):
    _, number = await _order(client, auth)
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship")
    for status in ("shipped", "delivered"):
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                          headers=carrier)
    responses = await _fire(lambda: client.post(f"/v1/orders/{number}/destruction",
                                                headers=carrier))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "destruction_already_confirmed"}
    assert await _count(session, AuditEntry, AuditEntry.action == "confirm_destroyed",
                        AuditEntry.resource_id == number) == 1


async def test_parallel_identical_withdrawals_record_one_event(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    url = f"/v1/customers/{customer_id}/consents/notifications"
    responses = await _fire(lambda: client.put(url, json={"granted": False}, headers=agent))
    assert _statuses(responses) == {200: N}
    assert {r.json()["granted"] for r in responses} == {False}
    assert await _count(session, ConsentEvent, ConsentEvent.customer_id == customer_id) == 1
    assert await _count(session, AuditEntry, AuditEntry.action == "withdraw",
                        AuditEntry.subject_id == customer_id) == 1


async def test_parallel_withdrawals_of_a_policy_version_have_one_winner(client, auth, session):
    from app.policies.models import PolicyVersion
    from tests.policy_factories import publish

    version = await publish(client, auth, significant=False)
    officer = auth(Role.PRIVACY_OFFICER)
    responses = await _fire(lambda: client.post(f"/v1/policies/{version}/withdrawal",
                                                headers=officer))
    assert _statuses(responses) == Counter({200: 1, 409: N - 1})
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"policy_withdrawn"}
    winner = next(r for r in responses if r.status_code == 200).json()
    withdrawn = await session.scalar(select(PolicyVersion.withdrawn_at).where(
        PolicyVersion.version == version))
    assert withdrawn.isoformat().replace("+00:00", "Z")[:19] == winner["withdrawn_at"][:19]


async def test_parallel_codes_of_a_deletion_larger_than_a_batch_erase_it_once(
        client, auth, session, app, monkeypatch):
    from app.requests import erasure

    monkeypatch.setattr(erasure, "BATCH", 2)
    monkeypatch.setattr(erasure, "PACE", 0.0)
    customer_id, customer, request_id, code = await _filed(client, auth, session, app,
                                                           "deletion")
    storefront = auth(Role.STOREFRONT)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    for _ in range(5):
        number = await create_order(client, headers=storefront, customer_id=customer_id,
                                    address_id=address_id)
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "cancelled"},
                          headers=storefront)
    responses = await _fire(lambda: client.post(f"/v1/requests/{request_id}/verify",
                                                json={"code": code}, headers=customer))
    assert _statuses(responses) == {200: 1, 409: N - 1}
    assert all("completed" in r.json()["detail"] for r in responses if r.status_code == 409)
    assert await _mails(session, customer_id, "request_outcome") == 1
    assert await _count(session, AuditEntry, AuditEntry.action == "erase",
                        AuditEntry.subject_id == customer_id) == 1
    stored = await session.get(PrivacyRequest, request_id)
    assert stored.outcome["erasure"]["state"] == "finished"
    assert stored.outcome["erasure"]["rows"] == 5 + 1  # five orders, one address


async def test_parallel_finishers_of_an_interrupted_erasure_count_every_row_once(
        client, auth, token, session, app, monkeypatch):
    from app.orders import public as orders
    from app.requests import erasure

    monkeypatch.setattr(erasure, "BATCH", 2)
    monkeypatch.setattr(erasure, "PACE", 0.0)
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    for _ in range(9):
        number = await create_order(client, headers=storefront, customer_id=customer_id,
                                    address_id=address_id)
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "cancelled"},
                          headers=storefront)
    pseudonymize = orders.pseudonymize

    async def interrupted(*args, **kwargs):
        monkeypatch.setattr(orders, "pseudonymize", pseudonymize)
        raise ConnectionResetError("database gone")

    monkeypatch.setattr(orders, "pseudonymize", interrupted)
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "deletion"}, headers=signed_in)
    request_id = filed.json()["id"]
    assert (await session.get(PrivacyRequest, request_id)).outcome["erasure"]["rows"] == 0

    finished = await asyncio.gather(*(erasure.finish(app.state.sessions, request_id)
                                      for _ in range(N)))

    assert any(finished)
    session.expire_all()
    stored = await session.get(PrivacyRequest, request_id)
    assert stored.outcome["erasure"]["state"] == "finished"
    assert stored.outcome["erasure"]["rows"] == 9 + 1
    assert await _count(session, Order, Order.customer_id == customer_id,
                        Order.pseudonymized_at.is_(None)) == 0
