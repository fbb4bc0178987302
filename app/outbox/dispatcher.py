"""Delivering the outbox: claim due messages under a lease, send them, record the outcome.

Delivery is at least once: a dispatcher that dies between sending and recording leaves the
lease to expire, and the message is sent again. Each message carries a stable Message-ID so a
receiver can drop such duplicates. A message recorded as sent is never sent again.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.crypto import Keys
from app.core.db import utcnow
from app.outbox import repository
from app.outbox.mailer import OutgoingMail, Sender
from app.outbox.models import BODY, RECIPIENT, SUBJECT, OutboxMessage

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF_SECONDS = 3600


@dataclass
class DeliveryReport:
    """How many messages were sent, failed and will be retried, or were given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __add__(self, other: "DeliveryReport") -> "DeliveryReport":
        return DeliveryReport(self.sent + other.sent, self.retried + other.retried,
                              self.failed + other.failed)

    @property
    def attempted(self) -> int:
        """Messages tried, successfully or not."""
        return self.sent + self.retried + self.failed


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 2, 4, 8 ... seconds, at most 1 h."""
    return timedelta(seconds=min(2 ** min(attempts, 32), MAX_BACKOFF_SECONDS))


def _decrypt(keys: Keys, row: OutboxMessage) -> OutgoingMail:
    cipher, row_id = keys.cipher, row.id
    to, subject, body = row.recipient_enc, row.subject_enc, row.body_enc
    # only sent or given-up messages forget them, and neither is claimed again
    assert to is not None and subject is not None and body is not None
    return OutgoingMail(id=row.id, channel=row.channel,
                        to=cipher.decrypt(to, context=RECIPIENT, row_id=row_id),
                        subject=cipher.decrypt(subject, context=SUBJECT, row_id=row_id),
                        body=cipher.decrypt(body, context=BODY, row_id=row_id))


async def _deliver_batch(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                         sender: Sender, *, max_attempts: int, batch: int, due_by: datetime,
                         now: Callable[[], datetime], lease: timedelta,
                         ) -> tuple[int, DeliveryReport]:
    """Claim, send and record one batch; return how many were claimed and the outcome."""
    claimed_at = now()
    lease_end = claimed_at + lease
    async with sessions() as session, session.begin():
        rows = await repository.claim_due(session, due_by=due_by, now=claimed_at,
                                          until=lease_end, limit=batch)
    report = DeliveryReport()
    untried: list[str] = []
    for index, row in enumerate(rows):
        # Stop while the lease still covers a whole send: past it, another dispatcher may
        # claim the message too. The rest are released and claimed again in the next batch.
        if index and now() >= lease_end - lease / 2:
            untried = [r.id for r in rows[index:]]
            break
        try:
            await sender.send(_decrypt(keys, row))
        except Exception as exc:
            await _record_failure(sessions, row, exc, now(), max_attempts, report)
        else:
            async with sessions() as session, session.begin():
                await repository.mark_sent(session, row.id, at=now())
            report.sent += 1
            logger.info("outbox message %s sent", row.id)
    if untried:
        async with sessions() as session, session.begin():
            await repository.release(session, untried)
    return len(rows), report


async def _record_failure(sessions: async_sessionmaker[AsyncSession], row: OutboxMessage,
                          exc: Exception, at: datetime, max_attempts: int,
                          report: DeliveryReport) -> None:
    error = type(exc).__name__  # never the message: it may quote the recipient
    async with sessions() as session, session.begin():
        updated = await repository.mark_attempt_failed(
            session, row.id, at=at, error=error, max_attempts=max_attempts, backoff=backoff)
    if updated is None:
        return
    if updated.failed_at is not None:
        report.failed += 1
        logger.error("outbox message %s given up after %d attempts: %s",
                     row.id, updated.attempts, error)
    else:
        report.retried += 1
        logger.warning("outbox message %s attempt %d failed: %s; next try at %s",
                       row.id, updated.attempts, error, updated.next_attempt_at.isoformat())


async def deliver_pending(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                          sender: Sender, *, max_attempts: int, batch: int = 50,
                          now: Callable[[], datetime] = utcnow, lease: timedelta = LEASE,
                          on_batch: Callable[[DeliveryReport], None] | None = None,
                          ) -> DeliveryReport:
    """Deliver every message due now, batch after batch, each at most once per call.

    Messages are claimed in a short transaction, sent outside any transaction, and their
    outcome recorded in another short one. `on_batch` sees each batch's report.
    """
    if batch < 1 or max_attempts < 1:
        raise ValueError("batch and max_attempts must be positive")
    due_by = now()  # a message failing now is due later, so this call ends
    total = DeliveryReport()
    while True:
        claimed, report = await _deliver_batch(
            sessions, keys, sender, max_attempts=max_attempts, batch=batch, due_by=due_by,
            now=now, lease=lease)
        if not claimed:
            break
        total += report
        if on_batch:
            on_batch(report)
    if total.attempted:
        logger.info("outbox delivery: %d sent, %d to retry, %d given up",
                    total.sent, total.retried, total.failed)
    return total


async def deliver_forever(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                          sender: Sender, *, interval: float, max_attempts: int) -> None:
    """Deliver pending messages every `interval` seconds until cancelled."""
    while True:
        try:
            await deliver_pending(sessions, keys, sender, max_attempts=max_attempts)
        except Exception as exc:  # keep delivering after a transient database error
            logger.warning("outbox delivery failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
