"""Streaming exports of an officer's selection as CSV or JSON lines, in constant memory.

Entries are read in keyset batches (oldest first) and turned into text chunk by chunk, so an
export of ten million entries holds one batch at a time, whatever the response streams to.
"""

import csv
import io
import json
from collections.abc import AsyncIterator

from sqlalchemy import tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.audit.models import AuditEntry
from app.audit.queries import OFFICER_FIELDS, AuditQuery, selection

BATCH = 1000
COLUMNS = [getattr(AuditEntry, name) for name in OFFICER_FIELDS]


async def entries(db: AsyncSession | AsyncConnection, query: AuditQuery, *,
                  batch: int = BATCH) -> AsyncIterator[list[dict]]:
    """The matching entries, oldest first, one batch (list of dicts) at a time."""
    position = None
    while True:
        stmt = selection(query, *COLUMNS)
        if position is not None:
            stmt = stmt.where(tuple_(AuditEntry.occurred_at, AuditEntry.id) > position)
        rows = (await db.execute(stmt.order_by(AuditEntry.occurred_at, AuditEntry.id)
                                 .limit(batch))).mappings().all()
        if rows:
            yield [dict(row) for row in rows]
        if len(rows) < batch:
            return
        position = (rows[-1]["occurred_at"], rows[-1]["id"])


def _plain(row: dict) -> dict:
    return row | {"occurred_at": row["occurred_at"].isoformat()}


async def as_json_lines(db: AsyncSession | AsyncConnection, query: AuditQuery, *,
                        batch: int = BATCH) -> AsyncIterator[str]:
    """One chunk of JSON lines per batch."""
    async for rows in entries(db, query, batch=batch):
        yield "".join(json.dumps(_plain(row), separators=(",", ":")) + "\n" for row in rows)


async def as_csv(db: AsyncSession | AsyncConnection, query: AuditQuery, *,
                 batch: int = BATCH) -> AsyncIterator[str]:
    """A header chunk, then one CSV chunk per batch; `fields` is space-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OFFICER_FIELDS)
    yield buffer.getvalue()
    async for rows in entries(db, query, batch=batch):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            plain = _plain(row) | {"fields": " ".join(row["fields"])}
            writer.writerow([plain[name] for name in OFFICER_FIELDS])
        yield buffer.getvalue()
