"""The notice run: every customer hears of a significant version once, by email or SMS.

Customers are streamed in batches by id (keyset), so memory stays flat however many there
are. Each batch writes its outbox messages and its `policy_notice` rows in one transaction;
the notice rows are unique per version and customer, so a run that crashes resumes where it
stopped and nobody is notified twice. The send rate is kept by scheduling: the n-th notice is
due `n / rate` seconds after the run started, and the outbox dispatcher sends only what is due.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.crypto import DecryptionFailed, Keys
from app.core.db import new_id, utcnow
from app.identity import public as identity
from app.outbox import repository as outbox
from app.outbox.public import EMAIL, SMS
from app.outbox.service import message_values
from app.policies import repository
from app.policies.errors import PolicyVersionNotFound
from app.policies.messages import notice_email, notice_sms
from app.policies.models import PolicyVersion

logger = logging.getLogger(__name__)

NOTICE_KIND = "policy_notice"
DEFAULT_BATCH = 500
MAX_COLLISIONS = 5


@dataclass
class NoticeRunReport:
    """What one call of the run queued; `skipped` contacts could not be decrypted."""

    queued: int = 0
    email: int = 0
    sms: int = 0
    skipped: int = 0
    stopped: bool = False
    done: bool = False

    def add(self, other: "NoticeRunReport") -> None:
        """Count a committed batch in."""
        self.queued += other.queued
        self.email += other.email
        self.sms += other.sms
        self.skipped += other.skipped
        self.stopped = self.stopped or other.stopped
        self.done = self.done or other.done


def contact_of(keys: Keys, *, customer_id: str, email_enc: str | None, phone_enc: str | None
               ) -> tuple[str, str] | None:
    """Where a customer's notice goes: (channel, address), email first, else SMS to the phone.

    The one place the notice run reads personal contact values: internal processing, so
    decrypted straight from the identity row and never returned to a caller.
    """
    email, phone = identity.decrypt_contact(keys, customer_id=customer_id, email_enc=email_enc,
                                            phone_enc=phone_enc)
    if email:
        return EMAIL, email
    if phone:
        return SMS, phone
    return None


class _Schedule:
    """Due times `1 / rate` seconds apart, from `start` on."""

    def __init__(self, start: datetime, rate_per_second: float) -> None:
        self.step = timedelta(seconds=1 / rate_per_second)
        self.next = start

    def take(self) -> datetime:
        at, self.next = self.next, self.next + self.step
        return at


def _batch_rows(keys: Keys, policy: PolicyVersion, *, customers, schedule: _Schedule,
                report: NoticeRunReport, now: datetime) -> tuple[list[dict], list[dict]]:
    """Outbox messages and notice rows for one batch of customers."""
    messages, notices = [], []
    email, sms = notice_email(policy), notice_sms(policy)
    for customer in customers:
        try:
            contact = contact_of(keys, customer_id=customer.id, email_enc=customer.email_enc,
                                 phone_enc=customer.phone_enc)
        except DecryptionFailed:
            report.skipped += 1
            logger.error("policy notice: contact of customer %s does not decrypt", customer.id)
            continue
        if contact is None:
            continue
        channel, address = contact
        subject, body = email if channel == EMAIL else sms
        due = schedule.take()
        message = message_values(keys, kind=NOTICE_KIND, channel=channel, to=address,
                                 subject=subject, body=body, customer_id=customer.id,
                                 not_before=due)
        messages.append(message)
        notices.append({"id": new_id(), "version": policy.version, "customer_id": customer.id,
                        "channel": channel, "outbox_message_id": message["id"],
                        "queued_at": now, "scheduled_at": due})
        if channel == EMAIL:
            report.email += 1
        else:
            report.sms += 1
    report.queued += len(notices)
    return messages, notices


async def _one_batch(session: AsyncSession, keys: Keys, version: int, *, after: str,
                     batch: int, schedule: _Schedule, report: NoticeRunReport,
                     now: datetime) -> str | None:
    """Queue one batch; return the last customer id, or None when the version is done."""
    policy = await repository.get_locked(session, version)
    if policy is None:
        raise PolicyVersionNotFound(f"There is no policy version {version}.")
    if policy.withdrawn_at is not None or not policy.significant:
        report.stopped = policy.withdrawn_at is not None
        return None
    customers = await repository.customers_to_notify(session, version, after=after, limit=batch)
    if not customers:
        report.done = True
        return None
    messages, notices = _batch_rows(keys, policy, customers=customers, schedule=schedule,
                                    report=report, now=now)
    await outbox.add_many(session, messages)
    await repository.add_notices(session, notices)
    return customers[-1].id


async def notify(sessions: async_sessionmaker[AsyncSession], keys: Keys, *, version: int,
                 rate_per_second: float, batch: int = DEFAULT_BATCH,
                 now: Callable[[], datetime] = utcnow,
                 on_batch: Callable[[NoticeRunReport], None] | None = None) -> NoticeRunReport:
    """Queue the notice of a significant version for every customer not notified yet.

    Safe to run again after a crash and on several replicas at once. Raises
    `PolicyVersionNotFound` for an unknown version; a non-significant or withdrawn version
    queues nothing.
    """
    if batch < 1 or rate_per_second <= 0:
        raise ValueError("batch and rate must be positive")
    async with sessions() as session, session.begin():
        last = await repository.last_scheduled(session, version)
    step = timedelta(seconds=1 / rate_per_second)
    schedule = _Schedule(max(now(), last + step) if last else now(), rate_per_second)
    report, after, collisions = NoticeRunReport(), "", 0
    while True:
        part = NoticeRunReport()
        try:
            async with sessions() as session, session.begin():
                last_id = await _one_batch(session, keys, version, after=after, batch=batch,
                                           schedule=schedule, report=part, now=now())
        except IntegrityError:  # another run queued some of these first: take the batch again
            collisions += 1
            if collisions > MAX_COLLISIONS:
                raise
            logger.info("policy notice batch of version %d collided; retrying", version)
            continue
        collisions = 0
        report.add(part)
        if last_id is None:
            break
        after = last_id
        if on_batch:
            on_batch(report)
    if report.done:  # in a transaction of its own: the batches hold the version shared
        async with sessions() as session, session.begin():
            await repository.mark_notices_done(session, version, at=now())
    logger.info("policy notices of version %d: %d queued (%d email, %d sms), %d skipped",
                version, report.queued, report.email, report.sms, report.skipped)
    return report


async def notify_forever(sessions: async_sessionmaker[AsyncSession], keys: Keys, *,
                         interval: float, rate_per_second: float) -> None:
    """Every `interval` seconds, run the notices of significant versions not done yet."""
    while True:
        try:
            async with sessions() as session, session.begin():
                versions = await repository.unfinished_notice_runs(session)
            for version in versions:
                await notify(sessions, keys, version=version, rate_per_second=rate_per_second)
        except Exception as exc:  # keep going after a transient database error
            logger.warning("policy notice run failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
