"""The lean reads' driver pool under contention: never more connections than its size, every
waiter served in turn, a cancelled or timed-out waiter loses nothing, lost connections replaced."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import driver_pool
from app.core.config import async_database_url
from app.core.driver_pool import DriverPool
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: asyncpg")

SIZE = 3


@pytest.fixture
async def pool():
    engine = create_async_engine(async_database_url(TEST_DATABASE_URL))
    lent = DriverPool(engine, size=SIZE)
    yield lent
    await lent.close()
    await engine.dispose()


async def _backend(pool: DriverPool, pause: float = 0.0) -> int:
    async with pool.checkout() as run:
        await asyncio.sleep(pause)
        return (await run.driver.fetchval("SELECT pg_backend_pid()"))


async def test_twenty_parallel_reads_share_at_most_size_connections(pool):
    pids = await asyncio.gather(*[_backend(pool, 0.02) for _ in range(20)])
    assert len(set(pids)) <= SIZE
    assert len(pool._idle) == len(set(pids))  # all given back


async def test_a_full_pool_makes_a_read_wait_then_time_out(pool, monkeypatch):
    monkeypatch.setattr(driver_pool, "POOL_TIMEOUT_SECONDS", 0.1)
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    held = [pool.checkout() for _ in range(SIZE)]
    for checkout in held:
        await checkout.__aenter__()
    with pytest.raises(PoolTimeout):
        await _backend(pool)
    for checkout in held:
        await checkout.__aexit__(None, None, None)
    assert await _backend(pool) > 0


async def test_a_cancelled_waiter_passes_its_connection_on(pool):
    held = [pool.checkout() for _ in range(SIZE)]
    for checkout in held:
        await checkout.__aenter__()
    cancelled = asyncio.create_task(_backend(pool))
    served = asyncio.create_task(_backend(pool))
    await asyncio.sleep(0.01)
    await held[0].__aexit__(None, None, None)  # handed to the first waiter ...
    cancelled.cancel()  # ... cancelled before it could run
    assert await served > 0  # the connection went on to the next one
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    for checkout in held[1:]:
        await checkout.__aexit__(None, None, None)
    assert len(await asyncio.gather(*[_backend(pool, 0.01) for _ in range(SIZE * 2)])) == SIZE * 2


async def test_connections_ended_by_the_server_are_replaced(pool):
    before = await asyncio.gather(*[_backend(pool, 0.02) for _ in range(SIZE)])
    engine = create_async_engine(async_database_url(TEST_DATABASE_URL))
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE pid = ANY(:pids)"), {"pids": list(before)})
    await engine.dispose()
    async with pool.checkout() as run:
        rows = await run.rows(text("SELECT 1"), {})
    assert [tuple(row) for row in rows] == [(1,)]
    after = await asyncio.gather(*[_backend(pool) for _ in range(SIZE)])
    assert not set(after) & set(before)
