"""A table of jobs delivered at least once under a lease: claim what is due, count a failed
attempt with backoff, give back what was not tried. Shared by the mail outbox and the partner
webhooks; a job row has `id`, `attempts`, `next_attempt_at`, `claimed_until`, `sent_at`,
`failed_at` and `last_error`."""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

Job = TypeVar("Job")
ERROR_LENGTH = 100


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def claim_due(session: AsyncSession, model: type[Job], *, due_by: datetime,
                    now: datetime, until: datetime, limit: int) -> list[Job]:
    """Lease up to `limit` pending jobs due by `due_by` whose lease is free at `now`.

    On PostgreSQL rows another dispatcher is claiming are skipped (SKIP LOCKED); SQLite
    transactions take the write lock up front (BEGIN IMMEDIATE), so claims never overlap.
    """
    job: Any = model
    stmt = (select(model)
            .where(job.sent_at.is_(None), job.failed_at.is_(None), job.next_attempt_at <= due_by,
                   or_(job.claimed_until.is_(None), job.claimed_until <= now))
            .order_by(job.next_attempt_at, job.id)
            .limit(limit))
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows: list[Any] = list((await session.scalars(stmt)).all())
    for row in rows:
        row.claimed_until = until
    await session.flush()
    return rows


async def mark_attempt_failed(session: AsyncSession, model: type[Job], job_id: str, *,
                              at: datetime, error: str, max_attempts: int,
                              backoff: Callable[[int], timedelta],
                              forget_on_give_up: Mapping[str, Any] | None = None
                              ) -> Job | None:
    """Count a failed attempt: retry after `backoff(attempts)`, or give up at `max_attempts`
    (then set `forget_on_give_up`, e.g. erase what the job carried).

    Returns the updated row, or None if it was meanwhile sent or given up elsewhere.
    """
    job: Any = model
    stmt = select(model).where(job.id == job_id, job.sent_at.is_(None), job.failed_at.is_(None))
    if _is_postgres(session):
        stmt = stmt.with_for_update()
    row: Any = await session.scalar(stmt)
    if row is None:
        return None
    row.attempts += 1
    row.last_error = error[:ERROR_LENGTH]
    row.claimed_until = None
    if row.attempts >= max_attempts:
        row.failed_at = at
        for column, value in (forget_on_give_up or {}).items():
            setattr(row, column, value)
    else:
        row.next_attempt_at = at + backoff(row.attempts)
    await session.flush()
    found: Job = row
    return found


async def release(session: AsyncSession, model: type[Job], job_ids: list[str]) -> None:
    """Give back leases of jobs that were claimed but not tried."""
    job: Any = model
    if job_ids:
        await session.execute(update(model).where(job.id.in_(job_ids), job.sent_at.is_(None))
                              .values(claimed_until=None))
