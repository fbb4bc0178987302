"""The background task that keeps sealing new audit entries into the chain."""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.chain import seal

logger = logging.getLogger(__name__)


async def seal_pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Seal everything pending, batch after batch; return how many entries were sealed."""
    total = 0
    while True:
        async with sessions() as session, session.begin():
            sealed = await seal(session)
        total += sealed
        if not sealed:
            return total


async def seal_forever(sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
    """Seal pending entries every `interval` seconds until cancelled."""
    while True:
        try:
            await seal_pending(sessions)
        except Exception as exc:  # keep sealing after a transient database error
            logger.warning("audit sealing failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
