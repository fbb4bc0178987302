"""Delivering the outbox: claim a batch of due messages under a lease, send them side by side,
record the outcomes with a few set-based statements.

Delivery is at least once. Outcomes are recorded after the batch is sent (also when the
dispatcher is cancelled at shutdown), so a dispatcher that dies in between (a crash, a killed
process) leaves its batch's leases to expire and those messages are sent again: up to a whole
batch may be delivered twice. Each message carries a stable Message-ID (SMS: an
Idempotency-Key) so a receiver can drop such duplicates. A message recorded as sent is never
sent again, and nothing is lost: a message leaves the queue only when recorded as sent or given
up. Several dispatchers (tasks, processes, replicas) share the queue safely: a claim skips rows
another one holds (lease, and SKIP LOCKED on PostgreSQL), and a failure is counted only by the
dispatcher whose claim saw that attempt count.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.crypto import Keys
from app.core.db import utcnow
from app.outbox import repository
from app.outbox.models import BODY, RECIPIENT, SUBJECT, OutboxMessage
from app.outbox.outgoing import Outcomes, OutgoingMail, Sender, send_all

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH = 500
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
    if not rows:
        return 0, DeliveryReport()
    outcomes: Outcomes = {}
    mails: list[OutgoingMail] = []
    for row in rows:
        try:
            mails.append(_decrypt(keys, row))
        except Exception as exc:
            outcomes[row.id] = exc
    started = False

    def may_start() -> bool:
        # Start a send only while the lease still covers it: past it, another dispatcher may
        # claim the message too. What is not started is released for the next batch.
        nonlocal started
        if started and now() >= lease_end - lease / 2:
            return False
        started = True
        return True

    try:
        await send_all(sender, mails, outcomes, may_start=may_start)
    finally:  # also when cancelled: what went out is recorded, not sent again after the lease
        report = await asyncio.shield(_record(sessions, rows, outcomes, at=now(),
                                              max_attempts=max_attempts))
    return len(rows), report


async def _record(sessions: async_sessionmaker[AsyncSession], rows: Sequence[OutboxMessage],
                  outcomes: Outcomes, *, at: datetime, max_attempts: int) -> DeliveryReport:
    """Store a batch's outcomes in one transaction: sent, failed (retry or give up), untried."""
    sent = [row.id for row in rows if row.id in outcomes and outcomes[row.id] is None]
    # the error's class, never its message: it may quote the recipient
    failed = {row.id: (row.attempts, type(error).__name__) for row in rows
              if (error := outcomes.get(row.id)) is not None}
    untried = [row.id for row in rows if row.id not in outcomes]
    async with sessions() as session, session.begin():
        await repository.mark_sent(session, sent, at=at)
        failures = await repository.mark_attempts_failed(
            session, failed, at=at, max_attempts=max_attempts, backoff=backoff)
        await repository.release(session, untried)
    for message_id in sent:
        logger.debug("outbox message %s sent", message_id)
    report = DeliveryReport(sent=len(sent))
    for failure in failures:
        reason = failed[failure.id][1]
        if failure.next_attempt_at is None:
            report.failed += 1
            logger.error("outbox message %s given up after %d attempts: %s",
                         failure.id, failure.attempts, reason)
        else:
            report.retried += 1
            logger.warning("outbox message %s attempt %d failed: %s; next try at %s",
                           failure.id, failure.attempts, reason,
                           failure.next_attempt_at.isoformat())
    return report


async def deliver_pending(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                          sender: Sender, *, max_attempts: int, batch: int = BATCH,
                          now: Callable[[], datetime] = utcnow, lease: timedelta = LEASE,
                          on_batch: Callable[[DeliveryReport], None] | None = None,
                          ) -> DeliveryReport:
    """Deliver every message due now, batch after batch, each at most once per call.

    A batch is claimed in a short transaction, sent outside any transaction, and its outcomes
    recorded in another short one; memory holds one batch. Between batches the event loop
    runs whatever else is waiting (requests, when it shares the server's loop). `on_batch`
    sees each batch's report.
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
        await asyncio.sleep(0)
    if total.attempted:
        logger.info("outbox delivery: %d sent, %d to retry, %d given up",
                    total.sent, total.retried, total.failed)
    return total


async def deliver_forever(sessions: async_sessionmaker[AsyncSession], keys: Keys,
                          sender: Sender, *, interval: float, max_attempts: int) -> None:
    """Deliver pending messages every `interval` seconds until cancelled; a backlog is
    drained batch after batch before the next pause."""
    while True:
        try:
            await deliver_pending(sessions, keys, sender, max_attempts=max_attempts)
        except Exception as exc:  # keep delivering after a transient database error
            logger.warning("outbox delivery failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
