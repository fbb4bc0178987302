"""Verification codes cannot be brute-forced: lockouts per customer and caller, one code mail
per window, lockouts audited and listed for the privacy officer."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from app.requests.models import VerificationGuard
from tests.factories import create_customer

WRONG = "000000"


async def _file(client, headers, customer_id: str, type_: str = "access", **extra):
    return await client.post("/v1/requests", json={"customer_id": customer_id, "type": type_,
                                                   **extra}, headers=headers)


async def _verify(client, headers, request_id: str, code: str = WRONG):
    return await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                             headers=headers)


async def _code_mails(session, customer_id: str) -> int:
    return await session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.kind == "verification_code"))


async def _age_code_mail(inspection_engine) -> None:
    """Let the resend window pass."""
    async with inspection_engine.begin() as connection:
        await connection.execute(update(VerificationGuard).values(
            code_sent_at=utcnow() - timedelta(hours=1)))


@pytest.fixture
def agent(auth):
    return auth(Role.SUPPORT_AGENT, sub="agent-9", purpose="service")


async def test_wrong_codes_across_requests_lock_the_customer(client, auth, agent, session,
                                                             inspection_engine):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    access = (await _file(client, agent, customer_id)).json()["id"]
    for _ in range(3):
        assert (await _verify(client, agent, access)).status_code == 422
    await _age_code_mail(inspection_engine)
    correction = await _file(client, agent, customer_id, "correction",
                             changes={"name": "New Name"})
    assert correction.status_code == 201
    assert (await _verify(client, agent, correction.json()["id"])).status_code == 422
    locked = await _verify(client, agent, correction.json()["id"])
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert locked.json()["code"] == "verification_locked"
    assert 290 <= int(locked.headers["Retry-After"]) <= 300

    again = await _verify(client, agent, access)
    assert (again.status_code, again.json()["code"]) == (429, "verification_locked")
    customer = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    await _age_code_mail(inspection_engine)
    refiled = await _file(client, customer, customer_id, "deletion")
    assert (refiled.status_code, refiled.json()["code"]) == (429, "verification_locked")
    assert "Retry-After" in refiled.headers
    assert await _code_mails(session, customer_id) == 2

    entry = await session.scalar(select(AuditEntry).where(
        AuditEntry.action == "lock_verification"))
    assert (entry.subject_id, entry.actor_id, entry.resource) == (
        customer_id, "agent-9", "verification_lockout")


async def test_the_privacy_officer_lists_lockouts(client, auth, agent):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, agent, customer_id)).json()["id"]
    for _ in range(5):
        await _verify(client, agent, request_id)
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    listed = await client.get("/v1/requests/lockouts?current=true", headers=officer)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["scope"], item["customer_id"], item["lockouts"], item["locked"]) == (
        "customer", customer_id, 1, True)
    assert set(item) == {"id", "scope", "customer_id", "actor_role", "actor_id", "lockouts",
                         "locked_at", "locked_until", "locked"}
    refused = await client.get("/v1/requests/lockouts",
                               headers=auth(Role.SUPPORT_AGENT, purpose="oversight"))
    assert refused.status_code == 403
    no_purpose = await client.get("/v1/requests/lockouts",
                                  headers=auth(Role.PRIVACY_OFFICER))
    assert no_purpose.status_code == 400


async def test_one_code_mail_per_window_and_refiling_reuses_the_open_request(
        client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    customer = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    first = await _file(client, customer, customer_id)
    assert first.status_code == 201
    again = await _file(client, customer, customer_id)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other = await _file(client, customer, customer_id, "deletion")
    assert other.status_code == 429
    assert other.json()["code"] == "verification_code_recently_sent"
    assert 290 <= int(other.headers["Retry-After"]) <= 300
    withdrawal = await _file(client, customer, customer_id, "consent_withdrawal")
    assert withdrawal.status_code == 201  # sends no code, so it is not held back
    assert await _code_mails(session, customer_id) == 1


async def test_a_caller_guessing_across_customers_is_locked(client, auth, app, agent):
    rules = app.state.request_rules
    app.state.request_rules = replace(rules, limits=replace(rules.limits, actor_lock_after=3))
    try:
        storefront = auth(Role.STOREFRONT)
        customers = [await create_customer(client, headers=storefront) for _ in range(3)]
        requests = [(await _file(client, agent, c)).json()["id"] for c in customers]
        statuses = [(await _verify(client, agent, r)).status_code for r in requests]
        assert statuses == [422, 422, 429]
        fresh = await create_customer(client, headers=storefront)
        blocked = await _file(client, agent, fresh)
        assert (blocked.status_code, blocked.json()["code"]) == (429, "verification_locked")
        other_agent = auth(Role.SUPPORT_AGENT, sub="agent-10", purpose="service")
        assert (await _file(client, other_agent, fresh)).status_code == 201
        listed = await client.get("/v1/requests/lockouts",
                                  headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
        assert [(i["scope"], i["actor_role"], i["actor_id"], i["customer_id"])
                for i in listed.json()["items"]] == [("actor", "support_agent", "agent-9", None)]
    finally:
        app.state.request_rules = rules
