"""Change notices of a significant version: once per customer, by email or else SMS, through
the outbox; streamed in batches, resumable after a crash, paced, with progress."""

import asyncio
import os
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select, update

from app.core.db import utcnow
from app.identity.models import Customer
from app.outbox.dispatcher import deliver_pending
from app.outbox.mailer import ChannelSender, FolderSender
from app.outbox.models import OutboxMessage
from app.outbox.sms import SmsFolderSender
from app.policies import repository
from app.policies.models import PolicyNotice
from app.policies.notices import notify_forever
from app.policies.public import history_of
from app.policy.roles import Role
from tests.factories import create_customer
from tests.policy_factories import FAST, PHONE_ONLY, add_customer, publish, run


def senders(tmp_path) -> ChannelSender:
    return ChannelSender({"email": FolderSender(tmp_path / "mail"),
                          "sms": SmsFolderSender(tmp_path / "sms")})


async def progress(client, auth, version: int) -> dict:
    response = await client.get(f"/v1/policies/{version}/notices",
                                headers=auth(Role.PRIVACY_OFFICER))
    assert response.status_code == 200, response.text
    return response.json()


async def notices(session, version: int) -> list[PolicyNotice]:
    return list((await session.scalars(select(PolicyNotice)
                                       .where(PolicyNotice.version == version))).all())


async def test_every_customer_is_told_once_by_email_or_else_sms(app, client, auth, session,
                                                                tmp_path):
    storefront = auth(Role.STOREFRONT)
    by_email = await create_customer(client, headers=storefront, email="ada@example.com")
    by_sms = await add_customer(app, phone=PHONE_ONLY)
    await add_customer(app)  # no contact on file
    await add_customer(app, phone="+4915100000000", erased=True)
    gone = await create_customer(client, headers=storefront)
    await session.execute(update(Customer).where(Customer.id == gone).values(erased_at=utcnow()))
    await session.commit()
    version = await publish(client, auth)

    report = await run(app, version)

    assert (report.queued, report.email, report.sms) == (2, 1, 1)
    assert {(n.customer_id, n.channel) for n in await notices(session, version)} == {
        (by_email, "email"), (by_sms, "sms")}
    before = await progress(client, auth, version)
    assert before | {"completed_at": None} == {
        "version": version, "significant": True, "complete": True, "completed_at": None,
        "queued": 2, "email": 1, "sms": 1, "sent": 0, "pending": 2, "failed": 0,
        "dropped": 0, "remaining": 0}

    delivered = await deliver_pending(app.state.sessions, app.state.keys, senders(tmp_path),
                                      max_attempts=3)
    assert delivered.sent == 2
    [eml] = os.listdir(tmp_path / "mail")
    mail = message_from_bytes((tmp_path / "mail" / eml).read_bytes(), policy=policy.default)
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"].startswith("Our privacy policy changes on")
    assert "We now share the order number with Klarna." in mail.get_content()
    [sms] = os.listdir(tmp_path / "sms")
    content = (tmp_path / "sms" / sms).read_text()
    assert content.startswith(f"To: {PHONE_ONLY}\n\n")
    assert f"version {version} takes effect" in content
    after = await progress(client, auth, version)
    assert (after["sent"], after["pending"]) == (2, 0)

    assert (await run(app, version)).queued == 0  # a second run tells nobody again
    assert len(await notices(session, version)) == 2


async def test_progress_is_for_the_privacy_officer_only(client, auth):
    version = await publish(client, auth)
    refused = await client.get(f"/v1/policies/{version}/notices",
                               headers=auth(Role.SUPPORT_AGENT))
    assert refused.status_code == 403
    missing = await client.get("/v1/policies/42/notices", headers=auth(Role.PRIVACY_OFFICER))
    assert missing.status_code == 404


async def test_minor_versions_notify_nobody(app, client, auth, session):
    await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth, significant=False)

    assert (await run(app, version)).queued == 0
    counts = await progress(client, auth, version)
    assert counts["significant"] is False and counts["queued"] == 0
    assert await session.scalar(select(func.count(OutboxMessage.id))) == 0


async def test_a_run_interrupted_midway_resumes_without_duplicates(app, client, auth, session):
    storefront = auth(Role.STOREFRONT)
    customers = {await create_customer(client, headers=storefront) for _ in range(5)}
    customers |= {await add_customer(app, phone=PHONE_ONLY) for _ in range(2)}
    version = await publish(client, auth)
    batches = []

    def crash_after_two(report) -> None:
        batches.append(report.queued)
        if len(batches) == 2:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        await run(app, version, batch=2, on_batch=crash_after_two)
    assert batches == [2, 4]
    assert len(await notices(session, version)) == 4
    halfway = await progress(client, auth, version)
    assert (halfway["queued"], halfway["remaining"], halfway["complete"]) == (4, 3, False)

    resumed = await run(app, version, batch=2)

    assert resumed.queued == 3
    stored = await notices(session, version)
    assert sorted(n.customer_id for n in stored) == sorted(customers)
    outbox = (await session.scalars(select(OutboxMessage.customer_id)
                                    .where(OutboxMessage.kind == "policy_notice"))).all()
    assert sorted(outbox) == sorted(customers)
    assert (await progress(client, auth, version))["complete"] is True


async def test_a_batch_that_fails_midway_leaves_neither_mail_nor_notice(app, client, auth,
                                                                        session, monkeypatch):
    for _ in range(3):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth)
    original = repository.add_notices

    async def crash(session, rows):
        raise ConnectionError("database went away")

    monkeypatch.setattr(repository, "add_notices", crash)
    with pytest.raises(ConnectionError):
        await run(app, version)
    assert await session.scalar(select(func.count(OutboxMessage.id))) == 0

    monkeypatch.setattr(repository, "add_notices", original)
    assert (await run(app, version)).queued == 3
    assert await session.scalar(select(func.count(OutboxMessage.id))) == 3


async def test_runs_at_the_same_time_tell_each_customer_once(app, client, auth, session):
    for _ in range(6):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth)

    reports = await asyncio.gather(*(run(app, version, batch=2) for _ in range(3)))

    assert sum(r.queued for r in reports) == 6
    assert len(await notices(session, version)) == 6
    assert await session.scalar(select(func.count(OutboxMessage.id))) == 6


async def test_notices_are_scheduled_at_the_send_rate(app, client, auth, session, tmp_path):
    for _ in range(4):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth)

    await run(app, version, rate_per_second=2.0, batch=3)

    due = sorted((await session.scalars(select(OutboxMessage.next_attempt_at))).all())
    gaps = {round((b - a).total_seconds(), 6) for a, b in zip(due, due[1:], strict=False)}
    assert gaps == {0.5}
    scheduled = sorted(n.scheduled_at for n in await notices(session, version))
    assert scheduled == due
    sent_now = await deliver_pending(app.state.sessions, app.state.keys, senders(tmp_path),
                                     max_attempts=3, now=lambda: due[0])
    assert sent_now.sent == 1
    later = await deliver_pending(app.state.sessions, app.state.keys, senders(tmp_path),
                                  max_attempts=3, now=lambda: due[-1])
    assert later.sent == 3


async def test_withdrawal_stops_the_notices_not_yet_sent(app, client, auth, session, tmp_path):
    for _ in range(3):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth)
    await run(app, version, rate_per_second=1.0)
    first_due = min((await session.scalars(select(OutboxMessage.next_attempt_at))).all())
    await deliver_pending(app.state.sessions, app.state.keys, senders(tmp_path),
                          max_attempts=3, now=lambda: first_due)

    withdrawn = await client.post(f"/v1/policies/{version}/withdrawal",
                                  headers=auth(Role.PRIVACY_OFFICER))
    assert withdrawn.status_code == 200
    counts = await progress(client, auth, version)
    assert (counts["sent"], counts["pending"], counts["dropped"]) == (1, 0, 2)
    await create_customer(client, headers=auth(Role.STOREFRONT))
    assert (await run(app, version)).queued == 0


async def test_the_server_starts_notices_in_the_background(app, client, auth, session):
    for _ in range(2):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    version = await publish(client, auth)
    task = asyncio.create_task(notify_forever(app.state.sessions, app.state.keys,
                                              interval=0.05, rate_per_second=FAST))
    try:
        for _ in range(100):
            if (await progress(client, auth, version))["complete"]:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    counts = await progress(client, auth, version)
    assert (counts["queued"], counts["complete"]) == (2, True)
    assert await repository.unfinished_notice_runs(session) == []


async def test_records_of_shows_notices_and_acceptances(app, client, auth, tmp_path):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    by_sms = await add_customer(app, phone=PHONE_ONLY)
    version = await publish(client, auth)
    await run(app, version)
    await deliver_pending(app.state.sessions, app.state.keys, senders(tmp_path), max_attempts=3)
    await client.post(f"/v1/customers/{customer_id}/policy-acceptances",
                      json={"version": version, "kind": "seen"}, headers=storefront)
    await client.post(f"/v1/customers/{customer_id}/policy-acceptances",
                      json={"version": version, "kind": "accepted"}, headers=storefront)

    async with app.state.sessions() as session:
        records = await history_of(session, customer_id)
        texted = await history_of(session, by_sms)

    [notice] = records["notified"]
    assert (notice["version"], notice["label"], notice["channel"], notice["state"]) == (
        version, "Payment partners", "email", "sent")
    assert notice["sent_at"] >= notice["queued_at"]
    assert [(a["version"], a["kind"]) for a in records["acknowledged"]] == [
        (version, "seen"), (version, "accepted")]
    assert [(n["channel"], n["state"]) for n in texted["notified"]] == [("sms", "sent")]
    assert texted["acknowledged"] == []
    assert "ada@" not in str(records) and PHONE_ONLY not in str(texted)
