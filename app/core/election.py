"""One process per deployment owns the background work, elected with a PostgreSQL lock.

The owner holds a session advisory lock (`pg_try_advisory_lock`) on a connection of its own,
outside the request pool and in autocommit (no transaction stays open while it is held). The
other processes stand by and try for the lock again every `retry` seconds; when the owner stops
or dies, its session ends, the lock goes with it and the next try of a standby wins it. The
owner checks its connection at the same pace and stops its work as soon as the connection is
lost, since by then another process may hold the lock.

The lock only spares the deployment duplicate work: each loop stays safe when two run at once
(the audit head's compare-and-set, leased outbox rows, retention's per-batch locks), which is
what covers the few seconds around a takeover.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

BACKGROUND_LOCK = int.from_bytes(
    hashlib.sha256(b"privacy-api background work").digest()[:8], "big", signed=True)
"""The advisory lock key of the deployment's background work (one 64-bit key)."""

Work = Callable[[], Coroutine[Any, Any, None]]


async def _stand_by(connection: AsyncConnection, key: int, *, retry: float) -> None:
    """Return once this session holds the lock `key`, trying every `retry` seconds."""
    if await connection.scalar(select(func.pg_try_advisory_lock(key))):
        return
    logger.info("background work: another process owns it; standing by")
    while not await connection.scalar(select(func.pg_try_advisory_lock(key))):
        await asyncio.sleep(retry)


async def _own(connection: AsyncConnection, work: Work, *, retry: float) -> None:
    """Run `work` until it ends or the lock's connection stops answering."""
    task = asyncio.create_task(work())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=retry)
            if not task.done():
                await connection.scalar(select(1))  # raises once the session (and lock) is gone
        task.result()
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def lead(database_url: str, work: Work, *, retry: float,
               key: int = BACKGROUND_LOCK) -> None:
    """Run `work` whenever this process holds the lock `key`; until cancelled, try for it
    every `retry` seconds while another process holds it."""
    engine = create_async_engine(database_url, poolclass=NullPool,
                                 isolation_level="AUTOCOMMIT")
    try:
        while True:
            try:
                async with engine.connect() as connection:
                    await _stand_by(connection, key, retry=retry)
                    logger.info("background work: this process owns it")
                    await _own(connection, work, retry=retry)
                logger.error("background work ended; starting it again")
            except Exception as exc:  # the database went away, or the work failed
                logger.warning("background work stopped (%s); trying again", type(exc).__name__)
            await asyncio.sleep(retry)
    finally:
        await engine.dispose()
