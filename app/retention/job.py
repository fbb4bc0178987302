"""The retention job: delete or anonymize every expired row, category by category, in
bounded set-based batches, each batch its own transaction.

Replicas may run it at once: on PostgreSQL each batch first takes a transaction-scoped
advisory lock of its category with `pg_try_advisory_xact_lock`; a run that finds the lock
taken leaves the category to the run holding it (reported as `busy`). On SQLite every
transaction starts with BEGIN IMMEDIATE, so batches run one after another. A batch's
statement re-reads its condition under the lock, so no row is counted twice.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import gate
from app.access.callers import Writer
from app.core.crypto import Keys
from app.core.db import new_id, utcnow
from app.core.security import Actor
from app.policy.roles import Role
from app.requests import public as requests
from app.retention.rules import Expired, expired
from app.retention.schedule import SCHEDULE, Category, EndAction, Periods, RetentionRule

logger = logging.getLogger(__name__)

RETENTION_JOB = Actor(sub="retention-job", role=Role.PRIVACY_OFFICER)
"""Who the audit trail names for the job's changes."""

Progress = Callable[[Category, EndAction, int], None]


@dataclass
class CategoryResult:
    """What one category's run did (or, in a dry run, would do)."""

    category: str
    action: str
    rows: int
    busy: bool = False


@dataclass
class RunReport:
    """One run of the job: when it counted from, whether it changed anything, per category."""

    run_id: str
    now: datetime
    dry_run: bool
    categories: list[CategoryResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The report as JSON-ready data."""
        return {"run_id": self.run_id, "now": self.now.isoformat(), "dry_run": self.dry_run,
                "total": sum(c.rows for c in self.categories),
                "categories": [asdict(c) for c in self.categories]}


def lock_key(category: Category) -> int:
    """A stable 64-bit advisory lock key for the category."""
    digest = hashlib.sha256(f"privacy-api retention {category}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _claimed(session: AsyncSession, category: Category) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already holds the only write lock
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(lock_key(category)))))


def _batch(rows: Expired, size: int) -> Delete | Update:
    keys = rows.key if isinstance(rows.key, tuple) else (rows.key,)
    chosen = select(*keys).where(rows.where).limit(size)
    target = (keys[0] if len(keys) == 1 else tuple_(*keys)).in_(chosen)
    stmt: Delete | Update
    if rows.values is None:
        stmt = delete(rows.model).where(target)
    else:
        stmt = update(rows.model).where(target).values(rows.values)
    return stmt.execution_options(synchronize_session=False)


async def _count(sessions: async_sessionmaker[AsyncSession], rows: Expired) -> int:
    async with sessions() as session, session.begin():
        return (await session.execute(select(func.count()).select_from(rows.model)
                                      .where(rows.where))).scalar_one()


async def _end(sessions: async_sessionmaker[AsyncSession], rule: RetentionRule, rows: Expired,
               *, size: int, progress: Progress | None) -> CategoryResult:
    """Batch after batch until one comes back short; each batch commits on its own."""
    result = CategoryResult(str(rule.category), str(rule.action), 0)
    while True:
        async with sessions() as session, session.begin():
            if not await _claimed(session, rule.category):
                result.busy = True
                return result
            # DML gives a CursorResult; AsyncSession.execute is typed as any Result
            done = cast(CursorResult[Any], await session.execute(_batch(rows, size))).rowcount
        result.rows += done
        if progress and done:
            progress(rule.category, rule.action, result.rows)
        if done < size:
            return result


def _fields(rows: Expired) -> list[str]:
    if rows.values is None:
        return ["all"]
    return sorted(name.removeprefix("ship_").removesuffix("_enc") for name in rows.values)


async def _record(sessions: async_sessionmaker[AsyncSession], keys: Keys, run_id: str,
                  rows: Expired, result: CategoryResult) -> None:
    async with sessions() as session, session.begin():
        await gate.record_write(Writer(session, RETENTION_JOB, keys),
                                result.category, f"retention_{result.action}", subject_id=None,
                                resource_id=f"{run_id}:{result.rows}", fields=_fields(rows))


async def run(sessions: async_sessionmaker[AsyncSession], periods: Periods, *, keys: Keys,
              now: datetime | None = None, dry_run: bool = False, batch: int = 5000,
              progress: Progress | None = None) -> RunReport:
    """End every category's expired rows as of `now` (default: the clock); a dry run counts.

    Each category's run is recorded in the audit trail as one entry, subject-less, whose
    `resource_id` is `<run id>:<rows>`.
    """
    report = RunReport(new_id(), now or utcnow(), dry_run)
    for rule in SCHEDULE:
        rows = expired(rule.category, report.now, periods[rule.category])
        if dry_run:
            result = CategoryResult(str(rule.category), str(rule.action),
                                    await _count(sessions, rows))
        else:
            result = await _end(sessions, rule, rows, size=batch, progress=progress)
            await _record(sessions, keys, report.run_id, rows, result)
        report.categories.append(result)
    return report


async def _finish_erasures(sessions: async_sessionmaker[AsyncSession]) -> None:
    try:
        finished = await requests.finish_erasures(sessions)
    except Exception as exc:  # keep running after a transient database error
        logger.warning("finishing interrupted erasures failed: %s", type(exc).__name__)
        return
    if finished:
        logger.info("finished %d interrupted erasures", finished)


async def run_forever(sessions: async_sessionmaker[AsyncSession], periods: Periods, *,
                      keys: Keys, interval: float, batch: int) -> None:
    """Finish interrupted erasures (at start-up, then every `interval` seconds) and run the
    job every `interval` seconds, until cancelled."""
    while True:
        await _finish_erasures(sessions)
        await asyncio.sleep(interval)
        try:
            report = await run(sessions, periods, keys=keys, batch=batch)
            logger.info("retention run %s ended %d rows", report.run_id,
                        sum(c.rows for c in report.categories))
        except Exception as exc:  # keep running after a transient database error
            logger.warning("retention run failed: %s", type(exc).__name__)
