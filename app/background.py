"""The deployment's background work: sealing the audit chain, delivering mail and partner
webhooks, retention, disclosure notices and policy change notices.

It runs inline in the server (`PRIVACY_BACKGROUND_TASKS=inline`, the default) or in a
`privacy-api worker` process of its own. On PostgreSQL only one process of the deployment
runs it at a time (app/core/election.py); on SQLite, one process serves everything anyway.
"""

import asyncio
import logging
import os
from contextlib import suppress

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.anchoring import Anchor
from app.audit.sealer import seal_forever
from app.core.config import Settings
from app.core.crypto import Keys
from app.core.election import lead
from app.disclosures.service import notify_due_forever
from app.outbox.dispatcher import deliver_forever
from app.outbox.mailer import sender_from_settings
from app.partners.dispatcher import deliver_webhooks_forever
from app.policies.notices import notify_forever
from app.retention.job import run_forever as retain_forever
from app.retention.schedule import periods

logger = logging.getLogger(__name__)


async def _all_loops(settings: Settings, *, engine: AsyncEngine,
                     sessions: async_sessionmaker[AsyncSession], keys: Keys,
                     http: httpx.AsyncClient, anchor: Anchor) -> None:
    """Run every background loop until cancelled."""
    logger.info("background work running in process %d", os.getpid())
    tasks = [asyncio.create_task(loop) for loop in (
        seal_forever(sessions, engine=engine, anchor=anchor, http=http,
                     interval=settings.audit_seal_interval_seconds,
                     checkpoint_interval=settings.audit_checkpoint_interval_seconds),
        deliver_forever(sessions, keys, sender_from_settings(settings, http=http),
                        interval=settings.outbox_interval_seconds,
                        max_attempts=settings.outbox_max_attempts),
        retain_forever(sessions, periods(settings), keys=keys,
                       interval=settings.retention_interval_seconds,
                       batch=settings.retention_batch_size),
        deliver_webhooks_forever(sessions, keys, http,
                                 interval=settings.webhook_interval_seconds,
                                 max_attempts=settings.webhook_max_attempts),
        notify_due_forever(sessions, keys, interval=settings.disclosure_interval_seconds),
        notify_forever(sessions, keys, interval=settings.notice_interval_seconds,
                       rate_per_second=settings.notice_rate_per_second),
    )]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task


async def run(settings: Settings, *, engine: AsyncEngine,
              sessions: async_sessionmaker[AsyncSession], keys: Keys, http: httpx.AsyncClient,
              anchor: Anchor) -> None:
    """Run the background work until cancelled; on PostgreSQL only while this process owns it
    (standing by, and taking over when the owner goes, otherwise)."""

    async def work() -> None:
        await _all_loops(settings, engine=engine, sessions=sessions, keys=keys, http=http,
                         anchor=anchor)

    if settings.is_sqlite:
        await work()
        return
    assert settings.database_url is not None  # filled by the settings' validator
    await lead(settings.database_url, work, retry=settings.audit_seal_interval_seconds)
