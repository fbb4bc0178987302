"""Outbox queries: claim due messages under a lease, then record how sending went."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import leases
from app.outbox.models import OutboxMessage

FORGOTTEN = {"recipient_enc": None, "subject_enc": None, "body_enc": None}
"""What a message sent or given up forgets: it keeps its delivery record, not recipient or text."""


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


async def mark_sent(session: AsyncSession, message_ids: Sequence[str], *, at: datetime) -> int:
    """Record deliveries and forget recipients and texts, in one statement; returns how many
    were not recorded as sent before."""
    return await leases.mark_sent(session, OutboxMessage, message_ids, at=at, forget=FORGOTTEN)


async def mark_attempts_failed(session: AsyncSession, failed: Mapping[str, tuple[int, str]], *,
                               at: datetime, max_attempts: int,
                               backoff: Callable[[int], timedelta]) -> list[leases.Failure]:
    """Count a failed attempt at each message (id -> attempts when claimed, error); one given
    up keeps its record but forgets recipient and text. Messages meanwhile sent, given up or
    tried elsewhere are left out."""
    return await leases.mark_attempts_failed(
        session, OutboxMessage, failed, at=at, max_attempts=max_attempts, backoff=backoff,
        forget_on_give_up=FORGOTTEN)


async def release(session: AsyncSession, message_ids: Sequence[str]) -> None:
    """Give back leases of messages that were claimed but not tried."""
    await leases.release(session, OutboxMessage, message_ids)
