"""Outbox queries: claim due messages under a lease, then record how sending went."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.models import OutboxMessage

ERROR_LENGTH = 100


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def add(session: AsyncSession, message: OutboxMessage) -> OutboxMessage:
    """Store a message in the caller's transaction."""
    session.add(message)
    await session.flush()
    return message


async def add_many(session: AsyncSession, rows: list[dict]) -> None:
    """Store many messages (column values) in the caller's transaction, in one statement."""
    if rows:
        await session.execute(insert(OutboxMessage.__table__), rows)


async def claim_due(session: AsyncSession, *, due_by: datetime, now: datetime,
                    until: datetime, limit: int) -> list[OutboxMessage]:
    """Lease up to `limit` pending messages due by `due_by` whose lease is free at `now`.

    On PostgreSQL rows another dispatcher is claiming are skipped (SKIP LOCKED); SQLite
    transactions take the write lock up front (BEGIN IMMEDIATE), so claims never overlap.
    """
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                   OutboxMessage.next_attempt_at <= due_by,
                   or_(OutboxMessage.claimed_until.is_(None),
                       OutboxMessage.claimed_until <= now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit))
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.scalars(stmt)).all())
    for row in rows:
        row.claimed_until = until
    await session.flush()
    return rows


async def mark_sent(session: AsyncSession, message_id: str, *, at: datetime) -> bool:
    """Record a delivery and forget the recipient and text; False if already recorded as sent."""
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    result = cast(CursorResult[Any], await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=at, claimed_until=None, last_error=None, recipient_enc=None,
                subject_enc=None, body_enc=None)))
    return result.rowcount == 1


async def mark_attempt_failed(session: AsyncSession, message_id: str, *, at: datetime,
                              error: str, max_attempts: int, backoff) -> OutboxMessage | None:
    """Count a failed attempt: retry after `backoff(attempts)`, or give up at `max_attempts`.

    Returns the updated row, or None if it was meanwhile sent or given up elsewhere.
    """
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id,
                                       OutboxMessage.sent_at.is_(None),
                                       OutboxMessage.failed_at.is_(None))
    if _is_postgres(session):
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        return None
    row.attempts += 1
    row.last_error = error[:ERROR_LENGTH]
    row.claimed_until = None
    if row.attempts >= max_attempts:  # given up: keep the record, forget recipient and text
        row.failed_at = at
        row.recipient_enc = row.subject_enc = row.body_enc = None
    else:
        row.next_attempt_at = at + backoff(row.attempts)
    await session.flush()
    return row


async def release(session: AsyncSession, message_ids: list[str]) -> None:
    """Give back leases of messages that were claimed but not tried."""
    if message_ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.sent_at.is_(None))
            .values(claimed_until=None))
