"""The background task that keeps sealing new audit entries and anchoring the chain."""

import asyncio
import logging
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.anchoring import Anchor, CheckpointRefused, write_checkpoint
from app.audit.chain import BATCH, newest_pending, seal

logger = logging.getLogger(__name__)


async def seal_pending(sessions: async_sessionmaker[AsyncSession], *, key: bytes,
                       batch: int = BATCH) -> int:
    """Seal the entries pending when the pass starts, one bounded batch per transaction,
    letting other tasks run between batches; return how many entries were handled.

    Entries written meanwhile wait for the next pass, so a pass ends even under load.
    """
    async with sessions() as session:
        through = await newest_pending(session)
    total = 0
    while through is not None:
        async with sessions() as session, session.begin():
            sealed = await seal(session, key=key, batch=batch, through=through)
        total += sealed
        if sealed < batch:  # all of the pass's entries are sealed, or another sealer has them
            return total
        await asyncio.sleep(0)
    return total


async def seal_forever(sessions: async_sessionmaker[AsyncSession], *, engine: AsyncEngine,
                       anchor: Anchor,
                       interval: float, checkpoint_interval: float,
                       http: httpx.AsyncClient | None = None) -> None:
    """Seal pending entries every `interval` seconds and write a signed checkpoint every
    `checkpoint_interval` seconds, until cancelled."""
    next_checkpoint = time.monotonic() + checkpoint_interval
    while True:
        try:
            await seal_pending(sessions, key=anchor.trust.key)
            if time.monotonic() >= next_checkpoint:
                next_checkpoint = time.monotonic() + checkpoint_interval
                await write_checkpoint(engine, anchor, http=http)
        except CheckpointRefused:
            pass  # logged as an error where it was refused; sealing goes on
        except Exception as exc:  # keep sealing after a transient database error
            logger.warning("audit sealing failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
