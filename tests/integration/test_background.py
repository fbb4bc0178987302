"""Who runs the background work: the server unless `PRIVACY_BACKGROUND_TASKS=off`, and on
PostgreSQL one process of the deployment at a time, elected with an advisory lock."""

import asyncio
from contextlib import suppress

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEntry
from app.core.config import async_database_url
from app.core.db import utcnow
from app.core.election import lead
from app.main import create_app
from tests.integration.audit_support import entry_values, insert_rows

LOCK = 7_700_001  # a key of the tests' own, so nothing else in the database can hold it
RETRY = 0.05


async def _sealed_within(app, entry_id: str, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        async with app.state.engine.connect() as connection:
            if await connection.scalar(select(AuditEntry.seq).where(AuditEntry.id == entry_id)):
                return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize(("mode", "seals"), [("inline", True), ("off", False)])
async def test_the_server_runs_the_background_work_unless_it_is_off(settings, mode, seals):
    configured = settings.model_copy(update={"background_tasks": mode,
                                             "audit_seal_interval_seconds": 0.05})
    server = create_app(configured)
    async with server.router.lifespan_context(server):
        entry = entry_values(server, at=utcnow())
        await insert_rows(server, [entry])
        assert await _sealed_within(server, entry["id"], 2.0) is seals


@pytest.fixture
def postgres_url(settings) -> str:
    if settings.is_sqlite:
        pytest.skip("the election is PostgreSQL's; on SQLite one process does everything")
    return async_database_url(settings.database_url)


class Contenders:
    """N processes' worth of `lead` calls, each with its own connection; records who works."""

    def __init__(self, url: str, count: int) -> None:
        self.working: set[int] = set()
        self.ever: list[int] = []
        self.tasks = [asyncio.create_task(lead(url, self._work(n), retry=RETRY, key=LOCK))
                      for n in range(count)]

    def _work(self, number: int):
        async def work() -> None:
            self.working.add(number)
            self.ever.append(number)
            try:
                await asyncio.Event().wait()
            finally:
                self.working.discard(number)
        return work

    async def settle(self) -> None:
        """Wait until someone works and a few more retry rounds have passed."""
        for _ in range(400):
            if self.working:
                break
            await asyncio.sleep(RETRY)
        await asyncio.sleep(10 * RETRY)

    async def stop(self, number: int) -> None:
        self.tasks[number].cancel()
        with suppress(asyncio.CancelledError):
            await self.tasks[number]

    async def stop_all(self) -> None:
        for number in range(len(self.tasks)):
            await self.stop(number)


async def _lock_holders(app) -> list[int]:
    async with app.state.engine.connect() as connection:
        return list((await connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = 0 AND objid = :key AND objsubid = 1"), {"key": LOCK})).scalars())


async def test_exactly_one_of_many_contenders_works_and_another_takes_over(app, postgres_url):
    contenders = Contenders(postgres_url, 6)
    try:
        await contenders.settle()
        [owner] = contenders.working
        assert len(await _lock_holders(app)) == 1
        await contenders.stop(owner)  # the owner stops: its session, and the lock, end
        await contenders.settle()
        [successor] = contenders.working
        assert successor != owner and contenders.ever == [owner, successor]
        assert len(await _lock_holders(app)) == 1
    finally:
        await contenders.stop_all()
    assert await _lock_holders(app) == []


async def test_an_owner_whose_session_dies_stops_working_and_one_owner_remains(app,
                                                                                postgres_url):
    """The owner's connection is killed (as when its host goes away): it stops its work, and
    exactly one contender works afterwards."""
    contenders = Contenders(postgres_url, 3)
    try:
        await contenders.settle()
        assert len(contenders.working) == 1
        [pid] = await _lock_holders(app)
        async with app.state.engine.connect() as connection:
            assert await connection.scalar(select(func.pg_terminate_backend(pid)))
        for _ in range(200):
            if len(contenders.ever) == 2:
                break
            await asyncio.sleep(RETRY)
        await contenders.settle()
        assert len(contenders.working) == 1 and len(contenders.ever) == 2
        [successor_pid] = await _lock_holders(app)
        assert successor_pid != pid
    finally:
        await contenders.stop_all()
