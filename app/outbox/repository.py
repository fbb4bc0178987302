"""Outbox queries: claim due messages under a lease, then record how sending went."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import leases
from app.outbox.models import OutboxMessage

FORGOTTEN = {"recipient_enc": None, "subject_enc": None, "body_enc": None}
"""What a message given up forgets: it keeps its delivery record, not the recipient or text."""


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
    """Lease up to `limit` pending messages due by `due_by` whose lease is free at `now`."""
    return await leases.claim_due(session, OutboxMessage, due_by=due_by, now=now, until=until,
                                  limit=limit)


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
                              error: str, max_attempts: int,
                              backoff: Callable[[int], timedelta]) -> OutboxMessage | None:
    """Count a failed attempt; a message given up keeps its record but forgets recipient and
    text. None if it was meanwhile sent or given up elsewhere."""
    return await leases.mark_attempt_failed(
        session, OutboxMessage, message_id, at=at, error=error, max_attempts=max_attempts,
        backoff=backoff, forget_on_give_up=FORGOTTEN)


async def release(session: AsyncSession, message_ids: list[str]) -> None:
    """Give back leases of messages that were claimed but not tried."""
    await leases.release(session, OutboxMessage, message_ids)
