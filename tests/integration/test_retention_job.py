"""The retention job: every category ages out on a fake clock, held data stays, a dry run
changes nothing, and two runs at once end each row exactly once."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.models import AuditEntry
from app.core.db import create_engine, new_id, session_factory, utcnow
from app.orders.models import Order
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from app.retention import job
from app.retention.schedule import SCHEDULE, Category
from tests.retention_world import erased_shopper, shopper, snapshot, stored_text


@pytest.fixture
async def world(client, auth, app, session, deliver_mail) -> dict:
    """One shopper of each kind, all mail delivered, created 'now'."""
    created = {"live": await shopper(client, auth, tag="expiring"),
               "erased": await erased_shopper(client, auth, app, session, deliver_mail,
                                              tag="gone")}
    await deliver_mail()
    created["start"] = utcnow()
    return created


def _periods(app) -> dict[Category, int]:
    return app.state.request_rules.retention


def _rows(report) -> dict[str, int]:
    return {c.category: c.rows for c in report.categories}


@pytest.mark.parametrize("category", [rule.category for rule in SCHEDULE])
async def test_each_category_ages_out_at_its_period(app, world, category):
    """A day before its period ends nothing of the category goes; two days after, it does."""
    days = _periods(app)[category]
    start = world["start"]
    before = await job.run(
        app.state.sessions, keys=app.state.keys, periods=_periods(app), dry_run=True,
                           now=start + timedelta(days=days) - timedelta(days=1))
    after = await job.run(
        app.state.sessions, keys=app.state.keys, periods=_periods(app), dry_run=True,
                          now=start + timedelta(days=days, hours=2) + timedelta(days=1))
    assert _rows(before)[category] == 0
    assert _rows(after)[category] >= 1


async def test_dry_run_changes_nothing(app, world, session):
    """A dry run far in the future reports rows in every category and changes no row."""
    before = await snapshot(session)
    far = world["start"] + timedelta(days=max(_periods(app).values()) + 2)
    report = await job.run(
        app.state.sessions, keys=app.state.keys, periods=_periods(app), dry_run=True, now=far)
    assert all(rows >= 1 for rows in _rows(report).values()), _rows(report)
    assert await snapshot(session) == before


async def test_run_ends_every_category_and_no_expired_value_survives(app, world, session):
    """After the run, no table holds (even decrypted) a personal value of expired data."""
    far = world["start"] + timedelta(days=max(_periods(app).values()) + 2)
    stored = await stored_text(session, app.state.keys)
    assert all(needle in stored for needle in world["live"]["needles"])

    report = await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app), now=far)

    assert all(rows >= 1 for rows in _rows(report).values()), _rows(report)
    stored = await stored_text(session, app.state.keys)
    assert [n for n in world["live"]["needles"] if n in stored] == []
    orders = (await session.scalars(select(Order.order_number))).all()
    assert orders == [world["live"]["order_number"]]  # the erased customer's order went
    again = await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app), now=far)
    assert set(_rows(again).values()) == {0}
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.actor_id == "retention-job"))).all()
    assert len(entries) == 2 * len(SCHEDULE)
    mine = {e.resource: e for e in entries if e.resource_id.startswith(report.run_id)}
    assert set(mine) == {str(rule.category) for rule in SCHEDULE}
    assert mine["messages"].resource_id == f"{report.run_id}:1"
    assert mine["orders"].action == "retention_anonymize" and mine["orders"].subject_id is None
    assert all(e.actor_role == "privacy_officer" for e in entries)


async def test_held_data_survives_the_run(client, auth, app, world, session, deliver_mail):
    """A held customer's data and a held order stay whole; lifting the hold lets them go."""
    kept = await shopper(client, auth, tag="held")
    await deliver_mail()
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    hold = await client.post("/v1/holds", headers=officer, json={
        "customer_id": kept["customer_id"], "reason": "Court order", "reference": "C-1"})
    order_hold = await client.post("/v1/holds", headers=officer, json={
        "order_number": world["live"]["order_number"], "reason": "Tax audit",
        "reference": "T-9"})
    assert hold.status_code == order_hold.status_code == 201, hold.text
    far = world["start"] + timedelta(days=max(_periods(app).values()) + 2)

    await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app), now=far)

    stored = await stored_text(session, app.state.keys)
    assert [n for n in kept["needles"] if n not in stored] == []
    live = world["live"]["needles"]
    assert live[0] in stored and live[1] in stored  # the held order's ship-to
    assert live[2] in stored  # the message about the held order
    assert live[3] not in stored  # the complaint was not about the order: gone

    lifted = await client.post(f"/v1/holds/{hold.json()['id']}/lift", headers=officer)
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app), now=far)
    stored = await stored_text(session, app.state.keys)
    assert [n for n in kept["needles"] if n in stored] == []


async def test_a_hold_past_its_end_date_no_longer_holds(client, auth, app, world, session):
    """`until` ends a hold on the job's clock without anyone lifting it."""
    until = world["start"] + timedelta(days=30)
    placed = await client.post("/v1/holds", headers=auth(Role.PRIVACY_OFFICER,
                                                          purpose="oversight"), json={
        "customer_id": world["live"]["customer_id"], "reason": "Dispute", "reference": "D-2",
        "until": until.isoformat()})
    assert placed.status_code == 201, placed.text
    periods = {**_periods(app), Category.MESSAGES: 10}
    held = await job.run(app.state.sessions, keys=app.state.keys, periods=periods, dry_run=True,
                         now=world["start"] + timedelta(days=12))
    assert _rows(held)["messages"] == 0
    free = await job.run(app.state.sessions, keys=app.state.keys, periods=periods, dry_run=True,
                         now=until + timedelta(days=1))
    assert _rows(free)["messages"] == 1


async def test_batches_are_bounded_and_add_up(app, session):
    """Many expired rows go in batches of the size asked for; every one of them goes."""
    long_ago = utcnow() - timedelta(days=400)
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(OutboxMessage), [
            {"id": new_id(), "kind": "order_status", "attempts": 1, "created_at": long_ago,
             "next_attempt_at": long_ago, "sent_at": long_ago} for _ in range(230)])
    batches = []
    report = await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app), batch=50,
                           progress=lambda category, action, rows: batches.append(rows))
    assert _rows(report)["outbox"] == 230
    assert batches == [50, 100, 150, 200, 230]
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_two_runs_at_once_end_each_row_exactly_once(app, settings, session):
    """Two replicas running together: the counts add up to what expired, nothing remains."""
    long_ago = utcnow() - timedelta(days=400)
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(OutboxMessage), [
            {"id": new_id(), "kind": "order_status", "attempts": 1, "created_at": long_ago,
             "next_attempt_at": long_ago, "failed_at": long_ago} for _ in range(3000)])
    engines = [create_engine(settings) for _ in range(2)]
    try:
        reports = await asyncio.gather(*(job.run(session_factory(engine), _periods(app),
                                                 keys=app.state.keys, batch=100)
                                         for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(_rows(r)["outbox"] for r in reports) == 3000
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.resource == "outbox"))).all()
    assert sorted(int(e.resource_id.split(":")[1]) for e in entries) == sorted(
        _rows(r)["outbox"] for r in reports)


async def test_concurrent_runs_on_postgres_meet_the_advisory_lock(app, settings):
    """On PostgreSQL a category's lock held elsewhere makes a run leave it (busy)."""
    if settings.is_sqlite:
        pytest.skip("advisory locks are PostgreSQL's; SQLite serializes writers instead")
    holder = create_async_engine(settings.database_url)
    try:
        async with holder.begin() as connection:
            await connection.execute(select(func.pg_advisory_xact_lock(
                job.lock_key(Category.OUTBOX))))
            report = await job.run(app.state.sessions, keys=app.state.keys, periods=_periods(app))
    finally:
        await holder.dispose()
    busy = {c.category for c in report.categories if c.busy}
    assert busy == {"outbox"}
