"""Delivering signed notices to partners: claim due ones under a lease, POST them with httpx,
record the outcome; failures are retried with exponential backoff.

Delivery is at least once: a dispatcher that dies between sending and recording leaves the
lease to expire and the notice is sent again with the same `id`, which receivers use to drop
repeats. A notice recorded as sent is never sent again.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.crypto import Keys
from app.core.db import utcnow
from app.partners import webhook_repository as webhooks
from app.partners.models import Partner
from app.partners.service import signing_secrets
from app.partners.signing import HEADER, sign

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF_SECONDS = 3600


@dataclass
class WebhookReport:
    """How many notices were sent, will be retried, or were given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 2, 4, 8 ... seconds, at most 1 h."""
    return timedelta(seconds=min(2 ** min(attempts, 32), MAX_BACKOFF_SECONDS))


@dataclass(frozen=True)
class _Outgoing:
    id: str
    attempts: int
    event: str
    url: str
    secrets: list[str]
    body: bytes


async def _claim(sessions: async_sessionmaker[AsyncSession], keys: Keys, *, due_by: datetime,
                 now: datetime, lease: timedelta, batch: int) -> list[_Outgoing]:
    async with sessions() as session, session.begin():
        rows = await webhooks.claim_due(session, due_by=due_by, now=now, until=now + lease,
                                        limit=batch)
        ids = {r.partner_id for r in rows}
        partners = {p.id: p for p in (await session.scalars(
            select(Partner).where(Partner.id.in_(ids)))).all()} if ids else {}
    return [_Outgoing(r.id, r.attempts, r.event, partners[r.partner_id].webhook_url,
                      signing_secrets(partners[r.partner_id], keys, now), r.body.encode())
            for r in rows]


async def _post(http: httpx.AsyncClient, notice: _Outgoing, at: datetime) -> None:
    headers = {"Content-Type": "application/json", "X-Privacy-Event": notice.event,
               "X-Privacy-Delivery": notice.id,
               HEADER: sign(notice.secrets, notice.body, int(at.timestamp()))}
    response = await http.post(notice.url, content=notice.body, headers=headers)
    response.raise_for_status()


async def _record_failure(sessions: async_sessionmaker[AsyncSession], notice: _Outgoing,
                          error: str, at: datetime, max_attempts: int,
                          report: WebhookReport) -> None:
    async with sessions() as session, session.begin():
        failure = await webhooks.mark_attempt_failed(
            session, notice.id, attempts=notice.attempts, at=at, error=error,
            max_attempts=max_attempts, backoff=backoff)
    if failure is None:
        return
    if failure.next_attempt_at is None:
        report.failed += 1
        logger.error("partner webhook %s given up after %d attempts: %s",
                     notice.id, failure.attempts, error)
    else:
        report.retried += 1
        logger.warning("partner webhook %s attempt %d failed: %s", notice.id, failure.attempts,
                       error)


def _error(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


async def deliver_webhooks(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                           http: httpx.AsyncClient, *, max_attempts: int, batch: int = 50,
                           now: Callable[[], datetime] = utcnow, lease: timedelta = LEASE
                           ) -> WebhookReport:
    """Deliver every notice due now, batch after batch, each at most once per call."""
    if batch < 1 or max_attempts < 1:
        raise ValueError("batch and max_attempts must be positive")
    due_by, report = now(), WebhookReport()
    while True:
        claimed = await _claim(sessions, keys, due_by=due_by, now=now(), lease=lease,
                               batch=batch)
        if not claimed:
            return report
        for notice in claimed:
            try:
                await _post(http, notice, now())
            except httpx.HTTPError as exc:
                await _record_failure(sessions, notice, _error(exc), now(), max_attempts,
                                      report)
            else:
                async with sessions() as session, session.begin():
                    await webhooks.mark_sent(session, notice.id, at=now())
                report.sent += 1


async def deliver_webhooks_forever(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                                   http: httpx.AsyncClient, *, interval: float,
                                   max_attempts: int) -> None:
    """Deliver pending notices every `interval` seconds until cancelled."""
    while True:
        try:
            await deliver_webhooks(sessions, keys, http, max_attempts=max_attempts)
        except Exception as exc:  # keep delivering after a transient database error
            logger.warning("partner webhook delivery failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
