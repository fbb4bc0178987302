"""Sealing passes: bounded batches linked set-based, a pass that ends while entries keep
arriving, and concurrent sealers that still make one gapless chain."""

import asyncio
from datetime import timedelta

from sqlalchemy import func, insert, select

from app.audit import chain, sealer
from app.audit.models import AuditEntry
from app.audit.sealer import seal_pending
from app.core.db import create_engine, session_factory, utcnow
from tests.integration.audit_support import ENTRY, audit_key, entry_values, insert_rows, report


async def _backlog(app, count: int) -> None:
    """`count` unsealed entries, a millisecond apart, ending now."""
    start = utcnow() - timedelta(milliseconds=count)
    await insert_rows(app, [entry_values(app, at=start + timedelta(milliseconds=n),
                                         subject_id=f"subject-{n}") for n in range(count)])


async def _chain_counts(app) -> tuple:
    async with app.state.engine.connect() as connection:
        return tuple((await connection.execute(select(
            func.count(AuditEntry.seq), func.count(func.distinct(AuditEntry.seq)),
            func.min(AuditEntry.seq), func.max(AuditEntry.seq)))).one())


async def test_a_backlog_larger_than_a_batch_is_sealed_into_a_verifiable_chain(app):
    """Several batches, each linked with one statement, give one chain that verifies."""
    count = 2 * chain.BATCH + 100
    await _backlog(app, count)
    assert await seal_pending(app.state.sessions, key=audit_key(app)) == count
    assert await _chain_counts(app) == (count, count, 1, count)
    result = await report(app, full=True)
    assert (result.ok, result.checked, result.unsealed) == (True, count, 0)


async def test_a_pass_seals_what_was_pending_when_it_started(app, monkeypatch):
    """Entries that arrive during a pass wait for the next one, so a pass ends under load."""
    await _backlog(app, 3)
    arrived = []

    async def seal_while_entries_arrive(session, **kwargs):
        sealed = await chain.seal(session, **kwargs)
        arrived.append(entry_values(app, at=utcnow() + timedelta(seconds=1),
                                    subject_id=f"late-{len(arrived)}"))
        await session.execute(insert(ENTRY), [arrived[-1]])
        return sealed

    monkeypatch.setattr(sealer, "seal", seal_while_entries_arrive)
    sealed = await asyncio.wait_for(
        seal_pending(app.state.sessions, key=audit_key(app), batch=1), timeout=60)
    assert sealed == 3 and len(arrived) == 4  # three batches of one, then one that found none
    assert (await report(app)).unsealed == 4
    monkeypatch.undo()
    assert await seal_pending(app.state.sessions, key=audit_key(app)) == 4
    assert await _chain_counts(app) == (7, 7, 1, 7)


async def test_concurrent_sealers_seal_every_entry_exactly_once(app):
    """Two replicas' sealers race over one backlog in small batches: a gapless chain, each
    entry linked once, and every entry counted by exactly one of them."""
    count = 600
    await _backlog(app, count)
    replicas = [create_engine(app.state.settings) for _ in range(2)]

    async def sealer_of(engine) -> int:
        sessions, total = session_factory(engine), 0
        while True:
            total += await seal_pending(sessions, key=audit_key(app), batch=25)
            async with sessions() as session:
                if not await chain.unsealed_count(session):
                    return total

    try:
        sealed = await asyncio.gather(*(sealer_of(engine) for engine in replicas))
    finally:
        for engine in replicas:
            await engine.dispose()
    assert sum(sealed) == count
    assert await _chain_counts(app) == (count, count, 1, count)
    result = await report(app, full=True)
    assert (result.ok, result.checked, result.unsealed) == (True, count, 0)
