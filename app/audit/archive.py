"""Archiving old audit entries out of the database, and reading them back for verify.

A month past the retention period is written, in seq order, to `audit-YYYY-MM.jsonl` in the
archive folder, next to a signed `audit-YYYY-MM.checkpoint.json` (file SHA-256, entry count,
first and last seq, last chain hash). Only then is the month dropped: its partition on
PostgreSQL, its rows in batches on SQLite. `audit verify --full` merges the archived entries
with the live ones by seq, so the chain is checked across both.
"""

import base64
import hashlib
import heapq
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.models import AuditEntry
from app.audit.partitions import (
    DEFAULT_PARTITION,
    bound,
    ensure_partitions,
    monthly_partitions,
    next_month,
    partition_name,
)
from app.core.errors import AppError

BATCH = 5000
_ENTRY = AuditEntry.__table__
EXPORTED = [c for c in _ENTRY.c]


class ArchiveRefused(AppError):
    status, code, title = 409, "audit_archive_refused", "Audit archive refused"


def entries_file(directory: Path, month: date) -> Path:
    """Where the entries of `month` are archived."""
    return directory / f"audit-{month:%Y-%m}.jsonl"


def checkpoint_file(directory: Path, month: date) -> Path:
    """The signed checkpoint of an archived month."""
    return directory / f"audit-{month:%Y-%m}.checkpoint.json"


def _payload(record: dict) -> bytes:
    return json.dumps({k: v for k, v in record.items() if k != "signature"}, sort_keys=True,
                      separators=(",", ":")).encode()


def _line(row) -> str:
    values = {c.key: row[c.key] for c in EXPORTED}
    values["occurred_at"] = values["occurred_at"].isoformat()
    return json.dumps(values, separators=(",", ":")) + "\n"


def eligible_months(candidates: list[date], *, before: date, retention_days: int,
                    now: datetime) -> list[date]:
    """Months before `before` that ended more than the retention period ago."""
    cutoff = now - timedelta(days=retention_days)
    return [m for m in candidates if m < before and bound(next_month(m)) <= cutoff]


async def _months(engine: AsyncEngine) -> list[date]:
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            caught = (await connection.execute(text(
                f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') "
                f"FROM {DEFAULT_PARTITION}"))).scalars()
            await ensure_partitions(connection, [m.date() for m in caught])
            return await monthly_partitions(connection)
    async with engine.connect() as connection:
        first, last = (await connection.execute(
            select(func.min(_ENTRY.c.occurred_at), func.max(_ENTRY.c.occurred_at)))).one()
    if first is None:
        return []
    months, month = [], date(first.year, first.month, 1)
    while month <= last.date():
        months.append(month)
        month = next_month(month)
    return months


async def archive_before(engine: AsyncEngine, *, before: date, retention_days: int,
                         directory: Path, signer: Ed25519PrivateKey,
                         now: datetime | None = None) -> list[tuple[date, int]]:
    """Export and drop every month before `before` that is past retention; return
    (month, entries archived) for each. Raises ArchiveRefused if a month has unsealed entries."""
    now = now or datetime.now(UTC)
    done = []
    for month in eligible_months(await _months(engine), before=before,
                                 retention_days=retention_days, now=now):
        count = await _export(engine, month, directory, signer, now)
        await _drop(engine, month)
        done.append((month, count))
    return done


async def _export(engine: AsyncEngine, month: date, directory: Path,
                  signer: Ed25519PrivateKey, now: datetime) -> int:
    in_month = (_ENTRY.c.occurred_at >= bound(month),
                _ENTRY.c.occurred_at < bound(next_month(month)))
    directory.mkdir(parents=True, exist_ok=True)
    target, digest, count = entries_file(directory, month), hashlib.sha256(), 0
    first = last = None
    async with engine.connect() as connection:
        unsealed = await connection.scalar(
            select(func.count()).select_from(_ENTRY).where(*in_month, _ENTRY.c.seq.is_(None)))
        if unsealed:
            raise ArchiveRefused(f"{month:%Y-%m} has {unsealed} entries not sealed yet")
        partial = target.with_suffix(".partial")
        with open(partial, "w") as handle:
            position = (-2**62, "")
            while True:
                rows = (await connection.execute(
                    select(*EXPORTED).where(*in_month, _ENTRY.c.seq >= position[0],
                                            tuple_(_ENTRY.c.seq, _ENTRY.c.id) > position)
                    .order_by(_ENTRY.c.seq, _ENTRY.c.id).limit(BATCH))).mappings().all()
                for row in rows:
                    line = _line(row)
                    handle.write(line)
                    digest.update(line.encode())
                    count += 1
                    if row["seq"] > 0:
                        first = row["seq"] if first is None else first
                        last = row
                if len(rows) < BATCH:
                    break
                position = (rows[-1]["seq"], rows[-1]["id"])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    record = {"month": f"{month:%Y-%m}", "file": target.name, "sha256": digest.hexdigest(),
              "entries": count, "first_seq": first, "last_seq": last and last["seq"],
              "last_chain_hash": last and last["chain_hash"], "at": now.isoformat()}
    record["signature"] = base64.b64encode(signer.sign(_payload(record))).decode()
    checkpoint_file(directory, month).write_text(json.dumps(record, indent=1) + "\n")
    return count


async def _drop(engine: AsyncEngine, month: date) -> None:
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE {partition_name(month)}"))
        return
    in_month = (_ENTRY.c.occurred_at >= bound(month),
                _ENTRY.c.occurred_at < bound(next_month(month)))
    while True:
        async with engine.begin() as connection:
            removed = await connection.execute(delete(_ENTRY).where(_ENTRY.c.id.in_(
                select(_ENTRY.c.id).where(*in_month).limit(BATCH))))
        if removed.rowcount < BATCH:
            return


def _checkpoints(directory: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("audit-*.checkpoint.json"))
            ] if directory.exists() else []


def last_archived_seq(directory: Path) -> int:
    """The highest seq in the archive, 0 if nothing is archived."""
    return max((c["last_seq"] or 0 for c in _checkpoints(directory)), default=0)


def _problem(directory: Path, record: dict, public: Ed25519PublicKey) -> str | None:
    try:
        public.verify(base64.b64decode(record["signature"]), _payload(record))
    except (InvalidSignature, KeyError, ValueError):
        return f"the checkpoint of archive {record.get('file')} is not signed with our key"
    digest = hashlib.sha256()
    with open(directory / record["file"], "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != record["sha256"]:
        return f"archive {record['file']} was altered after it was written"
    return None


async def _archived_rows(path: Path) -> AsyncIterator[dict]:
    with open(path) as handle:
        for text_line in handle:
            row = json.loads(text_line)
            if row["seq"] > 0:
                yield row


async def merged(directory: Path, public: Ed25519PublicKey, walk,
                 live: AsyncIterator[dict]) -> AsyncIterator[dict]:
    """Archived and live sealed entries, merged into one seq-ordered stream."""
    sources = []
    for record in _checkpoints(directory):
        problem = _problem(directory, record, public)
        if problem:
            walk.find("checkpoint", problem)
        sources.append(_archived_rows(directory / record["file"]))
    sources.append(live)
    heap = []
    for index, source in enumerate(sources):
        row = await anext(source, None)
        if row is not None:
            heap.append((row["seq"], index, row))
    heapq.heapify(heap)
    while heap:
        _, index, row = heapq.heappop(heap)
        yield row
        following = await anext(sources[index], None)
        if following is not None:
            heapq.heappush(heap, (following["seq"], index, following))
