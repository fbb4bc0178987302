"""A table of jobs delivered at least once under a lease: claim what is due, count failed
attempts with backoff, give back what was not tried. Shared by the mail outbox and the partner
webhooks; a job row has `id`, `attempts`, `next_attempt_at`, `claimed_until`, `sent_at`,
`failed_at` and `last_error`.

Claims and outcomes are set-based (one statement for a whole batch), so a batch of hundreds of
jobs costs a few round trips, not a few per job.
"""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CursorResult,
    String,
    any_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

Job = TypeVar("Job")
ERROR_LENGTH = 100
NO_SYNC = {"synchronize_session": False}  # bulk statements: the session holds none of these rows


@dataclass(frozen=True)
class Failure:
    """A failed attempt as recorded: attempts so far, and the next try (None: given up)."""

    id: str
    attempts: int
    next_attempt_at: datetime | None


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _among(session: AsyncSession, column: Any, ids: Sequence[str]) -> ColumnElement[bool]:
    """`column` is one of `ids`: `= ANY($1)` on PostgreSQL (one statement whatever the count)."""
    if _is_postgres(session):
        return cast(ColumnElement[bool],
                    column == any_(bindparam(None, list(ids), type_=ARRAY(String()))))
    return cast(ColumnElement[bool], column.in_(ids))


async def claim_due(session: AsyncSession, model: type[Job], *, due_by: datetime,
                    now: datetime, until: datetime, limit: int) -> list[Job]:
    """Lease up to `limit` pending jobs due by `due_by` whose lease is free at `now`, in one
    UPDATE ... RETURNING; oldest due first.

    On PostgreSQL rows another dispatcher is claiming are skipped (SKIP LOCKED), and a row
    another one claimed meanwhile fails the re-checked lease condition; SQLite transactions
    take the write lock up front (BEGIN IMMEDIATE), so claims never overlap.
    """
    job: Any = model
    due = (select(job.id)
           .where(job.sent_at.is_(None), job.failed_at.is_(None), job.next_attempt_at <= due_by,
                  or_(job.claimed_until.is_(None), job.claimed_until <= now))
           .order_by(job.next_attempt_at, job.id)
           .limit(limit))
    if _is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    rows: list[Any] = list((await session.scalars(
        update(model).where(job.id.in_(due)).values(claimed_until=until).returning(model),
        execution_options=NO_SYNC)).all())
    rows.sort(key=lambda row: (row.next_attempt_at, row.id))
    return rows


async def mark_sent(session: AsyncSession, model: type[Job], job_ids: Sequence[str], *,
                    at: datetime, forget: Mapping[str, Any] | None = None) -> int:
    """Record deliveries (and set `forget`, e.g. erase what the jobs carried); returns how
    many were not recorded as sent before."""
    job: Any = model
    if not job_ids:
        return 0
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    result = cast(CursorResult[Any], await session.execute(
        update(model).where(_among(session, job.id, job_ids), job.sent_at.is_(None))
        .values(sent_at=at, claimed_until=None, last_error=None, **(forget or {})),
        execution_options=NO_SYNC))
    return result.rowcount


async def mark_attempts_failed(session: AsyncSession, model: type[Job],
                               failed: Mapping[str, tuple[int, str]], *, at: datetime,
                               max_attempts: int, backoff: Callable[[int], timedelta],
                               forget_on_give_up: Mapping[str, Any] | None = None
                               ) -> list[Failure]:
    """Count a failed attempt at each job of `failed` (id -> attempts when claimed, error):
    retry after `backoff(attempts)`, or give up at `max_attempts` (then set
    `forget_on_give_up`). One UPDATE per (attempts, error) group.

    A job whose attempts changed since the claim, or that was meanwhile sent or given up,
    is left alone and not returned.
    """
    job: Any = model
    groups: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for job_id, (attempts, error) in failed.items():
        groups[(attempts, error[:ERROR_LENGTH])].append(job_id)
    recorded: list[Failure] = []
    for (attempts, error), ids in groups.items():
        tried = attempts + 1
        values: dict[str, Any] = {"attempts": tried, "last_error": error, "claimed_until": None}
        next_attempt_at = None if tried >= max_attempts else at + backoff(tried)
        if next_attempt_at is None:
            values.update(failed_at=at, **(forget_on_give_up or {}))
        else:
            values.update(next_attempt_at=next_attempt_at)
        updated = await session.scalars(
            update(model).where(_among(session, job.id, ids), job.attempts == attempts,
                                job.sent_at.is_(None), job.failed_at.is_(None))
            .values(**values).returning(job.id), execution_options=NO_SYNC)
        recorded.extend(Failure(job_id, tried, next_attempt_at) for job_id in updated.all())
    return recorded


async def release(session: AsyncSession, model: type[Job], job_ids: Sequence[str]) -> None:
    """Give back leases of jobs that were claimed but not tried."""
    job: Any = model
    if job_ids:
        await session.execute(update(model).where(_among(session, job.id, job_ids),
                                                  job.sent_at.is_(None))
                              .values(claimed_until=None), execution_options=NO_SYNC)
