"""The background task that keeps sealing new audit entries and anchoring the chain."""

import asyncio
import logging
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.anchoring import Anchor, CheckpointRefused, write_checkpoint
from app.audit.chain import seal

logger = logging.getLogger(__name__)


async def seal_pending(sessions: async_sessionmaker[AsyncSession], *, key: bytes) -> int:
    """Seal everything pending, batch after batch; return how many entries were handled."""
    total = 0
    while True:
        async with sessions() as session, session.begin():
            sealed = await seal(session, key=key)
        total += sealed
        if not sealed:
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
