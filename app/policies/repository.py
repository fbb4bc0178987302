"""Policy queries: versions, the notice run's customer stream and counts, acceptances."""

import base64
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import InvalidCursor
from app.identity.public import CUSTOMER_TABLE as customers
from app.outbox.public import OutboxMessage
from app.policies.errors import PolicyVersionTaken
from app.policies.models import PolicyAcceptance, PolicyNotice, PolicyVersion

CURSOR_PREFIX = "v:"


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _live():
    return PolicyVersion.withdrawn_at.is_(None)


async def get(session: AsyncSession, version: int) -> PolicyVersion | None:
    """One version, withdrawn or not."""
    return await session.get(PolicyVersion, version)


async def get_locked(session: AsyncSession, version: int) -> PolicyVersion | None:
    """One version, locked against withdrawal until the caller's transaction ends."""
    stmt = select(PolicyVersion).where(PolicyVersion.version == version)
    if _is_postgres(session):
        stmt = stmt.with_for_update(read=True)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar()


async def latest_number(session: AsyncSession) -> int:
    """The highest version number published so far (0 if none)."""
    return (await session.execute(
        select(func.coalesce(func.max(PolicyVersion.version), 0)))).scalar_one()


async def add(session: AsyncSession, policy: PolicyVersion) -> PolicyVersion:
    """Store a new version; `PolicyVersionTaken` if its number was published meanwhile."""
    session.add(policy)
    try:
        await session.flush()
    except IntegrityError:
        raise PolicyVersionTaken("Another version was published at the same moment; "
                                 "publish again.") from None
    return policy


async def current(session: AsyncSession, at: datetime) -> PolicyVersion | None:
    """The version in effect at `at`: the latest effective one not withdrawn."""
    return await session.scalar(
        select(PolicyVersion).where(_live(), PolicyVersion.effective_at <= at)
        .order_by(PolicyVersion.effective_at.desc(), PolicyVersion.version.desc()).limit(1))


async def upcoming(session: AsyncSession, at: datetime) -> PolicyVersion | None:
    """The next version to take effect after `at`, if one is scheduled."""
    return await session.scalar(
        select(PolicyVersion).where(_live(), PolicyVersion.effective_at > at)
        .order_by(PolicyVersion.effective_at, PolicyVersion.version).limit(1))


def _after(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(CURSOR_PREFIX):
            raise ValueError(raw)
        return int(raw[len(CURSOR_PREFIX):])
    except ValueError as exc:
        raise InvalidCursor("The cursor is not one this service handed out.") from exc


async def history(session: AsyncSession, *, cursor: str | None, limit: int
                  ) -> tuple[list[PolicyVersion], str | None]:
    """A page of every published version, newest first, and the next page's cursor."""
    stmt = select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(limit + 1)
    if cursor:
        stmt = stmt.where(PolicyVersion.version < _after(cursor))
    rows = list((await session.scalars(stmt)).all())
    if len(rows) <= limit:
        return rows, None
    del rows[limit:]
    raw = f"{CURSOR_PREFIX}{rows[-1].version}".encode()
    return rows, base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def withdraw(session: AsyncSession, version: int, *, at: datetime) -> bool:
    """Mark a scheduled version withdrawn and drop its notices not sent yet; False if it was
    withdrawn meanwhile or took effect (one winner among parallel withdrawals)."""
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    result = cast(CursorResult[Any], await session.execute(
        update(PolicyVersion).where(PolicyVersion.version == version,
                                    PolicyVersion.withdrawn_at.is_(None),
                                    PolicyVersion.effective_at > at)
        .values(withdrawn_at=at)))
    if result.rowcount != 1:
        return False
    unsent = select(PolicyNotice.outbox_message_id).where(PolicyNotice.version == version)
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(unsent),
                                                      OutboxMessage.sent_at.is_(None)))
    return True


def _has_contact():
    return and_(customers.c.erased_at.is_(None),
                or_(customers.c.email_enc.is_not(None), customers.c.phone_enc.is_not(None)))


def _not_noticed(version: int, *, after: str = ""):
    # `customer_id > after` is implied, but lets PostgreSQL's merge anti join start at `after`
    # instead of walking every notice already queued (a batch stays O(batch), not O(queued)).
    return ~exists().where(PolicyNotice.version == version,
                           PolicyNotice.customer_id == customers.c.id,
                           PolicyNotice.customer_id > after)


async def customers_to_notify(session: AsyncSession, version: int, *, after: str, limit: int
                              ) -> list[Row]:
    """The next `limit` customers by id after `after` with a contact and no notice yet.

    On PostgreSQL the rows are locked, skipping those another notice run holds, so runs on
    several replicas share the work instead of colliding.
    """
    stmt = (select(customers.c.id, customers.c.email_enc, customers.c.phone_enc)
            .where(customers.c.id > after, _has_contact(), _not_noticed(version, after=after))
            .order_by(customers.c.id).limit(limit))
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=customers)
    return list((await session.execute(stmt)).all())


async def add_notices(session: AsyncSession, rows: list[dict]) -> None:
    """Record notices (column values) in the caller's transaction, in one statement."""
    if rows:
        await session.execute(insert(PolicyNotice.__table__), rows)


async def last_scheduled(session: AsyncSession, version: int) -> datetime | None:
    """When the last notice of a version so far is due to be sent."""
    return await session.scalar(select(func.max(PolicyNotice.scheduled_at))
                                .where(PolicyNotice.version == version))


async def mark_notices_done(session: AsyncSession, version: int, *, at: datetime) -> None:
    """Record that every customer with a contact has been queued."""
    await session.execute(update(PolicyVersion).where(PolicyVersion.version == version)
                          .values(notices_done_at=at))


async def unfinished_notice_runs(session: AsyncSession) -> list[int]:
    """Significant, not withdrawn versions whose customers are not all queued yet."""
    return list((await session.scalars(
        select(PolicyVersion.version).where(PolicyVersion.significant.is_(True), _live(),
                                            PolicyVersion.notices_done_at.is_(None))
        .order_by(PolicyVersion.version))).all())


async def notice_counts(session: AsyncSession, version: int) -> dict[str, int]:
    """Queued notices of a version by channel and delivery state."""
    sent = OutboxMessage.sent_at.is_not(None)
    failed = OutboxMessage.failed_at.is_not(None)
    dropped = OutboxMessage.id.is_(None)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (await session.execute(
        select(func.count(PolicyNotice.id), count(PolicyNotice.channel == "email"),
               count(PolicyNotice.channel == "sms"), count(sent), count(failed), count(dropped))
        .select_from(PolicyNotice)
        .outerjoin(OutboxMessage, OutboxMessage.id == PolicyNotice.outbox_message_id)
        .where(PolicyNotice.version == version))).one()
    queued, email, sms, sent_n, failed_n, dropped_n = (int(v) for v in row)
    return {"queued": queued, "email": email, "sms": sms, "sent": sent_n, "failed": failed_n,
            "dropped": dropped_n, "pending": queued - sent_n - failed_n - dropped_n}


async def remaining(session: AsyncSession, version: int) -> int:
    """Customers with a contact that have no notice of this version yet."""
    return (await session.execute(select(func.count(customers.c.id))
                                  .where(_has_contact(), _not_noticed(version)))).scalar_one()


async def find_acceptance(session: AsyncSession, *, customer_id: str, version: int, kind: str
                          ) -> PolicyAcceptance | None:
    """The recorded acceptance of this kind, if any."""
    return await session.scalar(select(PolicyAcceptance).where(
        PolicyAcceptance.customer_id == customer_id, PolicyAcceptance.version == version,
        PolicyAcceptance.kind == kind))


async def add_acceptance(session: AsyncSession, acceptance: PolicyAcceptance) -> None:
    """Record an acceptance in the caller's transaction."""
    session.add(acceptance)
    await session.flush()


async def notices_of(session: AsyncSession, customer_id: str) -> list[Row]:
    """A customer's notices with their version's label and the outbox delivery state."""
    return list((await session.execute(
        select(PolicyNotice.version, PolicyVersion.label, PolicyNotice.channel,
               PolicyNotice.queued_at, OutboxMessage.id.label("outbox_id"),
               OutboxMessage.sent_at, OutboxMessage.failed_at)
        .join(PolicyVersion, PolicyVersion.version == PolicyNotice.version)
        .outerjoin(OutboxMessage, OutboxMessage.id == PolicyNotice.outbox_message_id)
        .where(PolicyNotice.customer_id == customer_id)
        .order_by(PolicyNotice.version))).all())


async def acceptances_of(session: AsyncSession, customer_id: str) -> list[Row]:
    """What a customer saw or accepted, oldest first, with the version's label."""
    return list((await session.execute(
        select(PolicyAcceptance.version, PolicyVersion.label, PolicyAcceptance.kind,
               PolicyAcceptance.recorded_at)
        .join(PolicyVersion, PolicyVersion.version == PolicyAcceptance.version)
        .where(PolicyAcceptance.customer_id == customer_id)
        .order_by(PolicyAcceptance.recorded_at, PolicyAcceptance.version))).all())
