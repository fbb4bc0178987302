"""Verifying the audit trail against its key and its signed checkpoints.

By default the walk starts at the newest checkpoint (incremental): entries it vouches for were
verified when it was written. `full=True` walks every sealed entry, archived ones included.
Either way the head, the tail and the entries outside the chain are checked against the newest
checkpoint, so a rewound head, a truncated tail or a wiped table is named.
"""

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit import archive
from app.audit.chain import HEAD_ID, PENDING_COLUMNS, REJECTED_SEQ
from app.audit.checkpoints import BadCheckpoint, Checkpoint, latest, read_all
from app.audit.hashing import GENESIS_HASH, mac_ok
from app.audit.models import AuditChainHead, AuditEntry
from app.audit.walk import Finding, Walk

BATCH = 5000
_ENTRY = AuditEntry.__table__
WALK_COLUMNS = [*PENDING_COLUMNS, _ENTRY.c.seq, _ENTRY.c.chain_hash]


@dataclass
class Report:
    """What a verification found; `ok` when nothing."""

    checked: int = 0
    start_seq: int = 0
    head_seq: int = 0
    head_hash: str | None = None
    unsealed: int = 0
    checkpoint: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)
    omitted: int = 0

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.findings


@dataclass(frozen=True)
class Trust:
    """What verification checks against: the audit key and where the checkpoints are."""

    key: bytes
    public_key: Ed25519PublicKey
    checkpoint_file: Path
    archive_dir: Path


async def live_rows(connection: AsyncConnection, *, after: int, upto: int,
                    batch: int = BATCH) -> AsyncIterator[dict]:
    """Sealed entries with after < seq <= upto in seq order, fetched in keyset batches."""
    stmt = select(*WALK_COLUMNS).where(_ENTRY.c.seq <= upto).order_by(
        _ENTRY.c.seq, _ENTRY.c.id).limit(batch)
    window: tuple[ColumnElement[bool], ...] = (_ENTRY.c.seq > after,)
    while True:
        rows = (await connection.execute(stmt.where(*window))).mappings().all()
        for row in rows:
            yield dict(row)
        if len(rows) < batch:
            return
        last = (rows[-1]["seq"], rows[-1]["id"])
        window = (_ENTRY.c.seq >= last[0], tuple_(_ENTRY.c.seq, _ENTRY.c.id) > last)


async def verify(connection: AsyncConnection, trust: Trust, *, full: bool = False,
                 on_progress: Callable[[int, int], None] | None = None) -> Report:
    """Check the chain, the head and the entries outside it; name everything found wrong."""
    report = Report()
    newest, bad_tail = latest(trust.checkpoint_file, trust.public_key)
    report.checkpoint = newest
    start = None if full or newest is None else newest
    head = await _head(connection)
    bad_lines: list[BadCheckpoint] = [] if full else bad_tail
    walk = Walk(trust.key, seq=start.seq if start else 0,
                chain=start.chain_hash if start else GENESIS_HASH,
                checkpoints=_trusted(read_all(trust.checkpoint_file, trust.public_key), bad_lines)
                if full else iter(()))
    if start:
        await _check_start(connection, walk, start, trust)
        rows = live_rows(connection, after=start.seq, upto=head[0])
    else:
        rows = archive.merged(trust.archive_dir, trust.public_key, walk,
                              live_rows(connection, after=0, upto=head[0]))
    await walk.run(rows, on_progress)
    for bad in bad_lines:
        where = f"line {bad.line}" if bad.line else "a line near the end"
        walk.find("checkpoint", f"checkpoint {where} of {trust.checkpoint_file} is not "
                                f"trusted: {bad.reason}")
    await _check_ends(connection, walk, newest, head, trust)
    await _check_outside_chain(connection, walk, trust.key)
    report.checked, report.head_seq = walk.checked, head[0]
    report.start_seq = start.seq if start else 0
    report.head_hash = walk.chain if walk.seq == head[0] else None
    report.findings, report.omitted = walk.findings, walk.omitted
    report.unsealed = (await connection.execute(
        select(func.count()).select_from(_ENTRY).where(_ENTRY.c.seq.is_(None)))).scalar_one()
    return report


def _trusted(lines: Iterator[Checkpoint | BadCheckpoint], bad: list[BadCheckpoint]
             ) -> Iterator[Checkpoint]:
    for line in lines:
        if isinstance(line, BadCheckpoint):
            bad.append(line)
        else:
            yield line


async def _head(connection: AsyncConnection) -> tuple[int, str]:
    row = (await connection.execute(select(AuditChainHead.last_seq, AuditChainHead.last_hash)
                                    .where(AuditChainHead.id == HEAD_ID))).one()
    return row.last_seq, row.last_hash


async def _check_start(connection: AsyncConnection, walk: Walk, start: Checkpoint,
                       trust: Trust) -> None:
    """The entry the newest checkpoint vouches for must still be there, unchanged."""
    row = (await connection.execute(select(*WALK_COLUMNS).where(_ENTRY.c.seq == start.seq))
           ).mappings().first()
    if row is None:  # a hole here; a cut tail is named by the end checks
        later = await connection.scalar(select(func.min(_ENTRY.c.seq))
                                        .where(_ENTRY.c.seq > start.seq))
        if later and start.seq > archive.last_archived_seq(trust.archive_dir):
            walk.find("missing", f"entry seq {start.seq}, which the checkpoint of "
                                 f"{start.at.isoformat()} vouches for, is missing")
        return
    if not mac_ok(trust.key, row, row["entry_mac"]):
        walk.find("edited", f"entry seq {start.seq} (id {row['id']}) was edited: its MAC does "
                            "not verify")
    if row["chain_hash"] != start.chain_hash:
        walk.find("rewritten", f"entry seq {start.seq} does not match the checkpoint of "
                               f"{start.at.isoformat()}: the chain up to it was rewritten")


async def _check_ends(connection: AsyncConnection, walk: Walk, newest: Checkpoint | None,
                      head: tuple[int, str], trust: Trust) -> None:
    """Compare the head and the last sealed entry with the walk and the newest checkpoint."""
    now_head = await _head(connection)
    tail = await connection.scalar(select(func.max(_ENTRY.c.seq)))
    tail = max(tail or 0, archive.last_archived_seq(trust.archive_dir))
    if tail > now_head[0]:
        walk.find("rewound", f"the head was rewound: sealed entries go up to seq {tail} but "
                             f"the head records seq {now_head[0]}")
    if newest and now_head[0] < newest.seq:
        walk.find("rewound", f"the head was rewound to seq {now_head[0]}, behind the "
                             f"checkpoint of {newest.at.isoformat()} at seq {newest.seq}")
    if newest and tail < newest.seq:
        if tail == 0:
            walk.find("wiped", f"the audit table was wiped: no sealed entry is left, but the "
                               f"checkpoint of {newest.at.isoformat()} vouches for "
                               f"{newest.seq} entries")
        else:
            walk.find("truncated", f"the tail was truncated: the chain ends at seq {tail} but "
                                   f"the checkpoint of {newest.at.isoformat()} vouches for seq "
                                   f"{newest.seq} (entries seq {tail + 1}-{newest.seq} are "
                                   "missing)")
    elif tail < head[0]:
        walk.find("truncated", f"the tail was truncated: entries after seq {tail} are missing "
                               f"(the head records seq {head[0]})")
    elif walk.seq == head[0] and walk.chain != head[1] and not walk.findings:
        walk.find("rewritten", f"the head's hash does not match entry seq {head[0]}")


async def _check_outside_chain(connection: AsyncConnection, walk: Walk, key: bytes) -> None:
    """Entries the sealer set aside, and unsealed ones that would be: forged or pulled out.
    Two queries, each served by its own index (seq, and the partial index of unsealed ones)."""
    for outside in (_ENTRY.c.seq == REJECTED_SEQ, _ENTRY.c.seq.is_(None)):
        position = None
        while True:
            stmt = (select(*WALK_COLUMNS).where(outside)
                    .order_by(_ENTRY.c.occurred_at, _ENTRY.c.id).limit(BATCH))
            if position:
                stmt = stmt.where(tuple_(_ENTRY.c.occurred_at, _ENTRY.c.id) > position)
            rows = (await connection.execute(stmt)).mappings().all()
            for row in rows:
                _check_outside(walk, key, row)
            if len(rows) < BATCH:
                break
            position = (rows[-1]["occurred_at"], rows[-1]["id"])


def _check_outside(walk: Walk, key: bytes, row) -> None:
    if not mac_ok(key, row, row["entry_mac"]):
        state = "refused by the sealer" if row["seq"] else "not sealed yet"
        walk.find("forged", f"forged entry id {row['id']} (written as "
                            f"{row['occurred_at'].isoformat()} by role {row['actor_role']}): "
                            f"its MAC does not verify; {state}")
    elif row["seq"] == REJECTED_SEQ:
        walk.find("pulled", f"entry id {row['id']} was pulled out of the chain (marked "
                            "refused) though its MAC verifies")
