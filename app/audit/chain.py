"""Sealing new audit entries into the hash chain, and verifying the chain.

Requests append entries freely, each with its own hash. A sealer, run in the background by
every app replica and before each verification, links unsealed entries in order: it numbers
them and stores the chain hash, then advances the head with a compare-and-set, so concurrent
sealers never interleave and requests never wait on the chain.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.hashing import GENESIS_HASH, HASHED_COLUMNS, entry_hash, link
from app.audit.models import AuditChainHead, AuditEntry

HEAD_ID = 1
BATCH = 2000
_ENTRY = AuditEntry.__table__
LINK = (update(_ENTRY).where(_ENTRY.c.id == bindparam("entry_id"))
        .values(seq=bindparam("entry_seq"), chain_hash=bindparam("entry_chain")))


async def seal(session: AsyncSession, *, batch: int = BATCH) -> int:
    """Link up to `batch` unsealed entries into the chain; return how many were sealed."""
    head = (await session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash)
        .where(AuditChainHead.id == HEAD_ID))).one()
    pending = (await session.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).where(AuditEntry.seq.is_(None))
        .order_by(AuditEntry.occurred_at, AuditEntry.id).limit(batch))).all()
    if not pending:
        return 0
    seq, chain = head.last_seq, head.last_hash
    links = []
    for entry_id, own_hash in pending:
        seq, chain = seq + 1, link(chain, own_hash)
        links.append({"entry_id": entry_id, "entry_seq": seq, "entry_chain": chain})
    moved = await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID, AuditChainHead.last_seq == head.last_seq)
        .values(last_seq=seq, last_hash=chain))
    if moved.rowcount != 1:
        return 0
    await session.execute(LINK, links)
    return len(links)


@dataclass(frozen=True)
class Verdict:
    """Outcome of a chain verification."""

    ok: bool
    checked: int
    problem: str | None = None


async def verify(session: AsyncSession) -> Verdict:
    """Walk the chain in order; name the first entry that was edited, removed or reordered."""
    head = (await session.execute(select(AuditChainHead).where(AuditChainHead.id == HEAD_ID))
            ).scalar_one()
    columns = [getattr(AuditEntry, c) for c in HASHED_COLUMNS]
    stmt = (select(*columns, AuditEntry.entry_hash, AuditEntry.seq, AuditEntry.chain_hash)
            .where(AuditEntry.seq.is_not(None), AuditEntry.seq <= head.last_seq)
            .order_by(AuditEntry.seq))
    expected_seq, chain, checked = 1, GENESIS_HASH, 0
    result = await session.stream(stmt)
    async for row in result.mappings():
        values = {c: row[c] for c in HASHED_COLUMNS}
        if row["seq"] != expected_seq:
            return Verdict(False, checked, f"entry seq {expected_seq} is missing "
                                           f"(next present is seq {row['seq']}, id {row['id']})")
        if entry_hash(values) != row["entry_hash"]:
            return Verdict(False, checked, f"entry seq {row['seq']} (id {row['id']}) was altered")
        chain = link(chain, row["entry_hash"])
        if chain != row["chain_hash"]:
            return Verdict(False, checked, f"entry seq {row['seq']} (id {row['id']}) "
                                           "does not link to the entry before it")
        expected_seq, checked = expected_seq + 1, checked + 1
    if head.last_seq != expected_seq - 1 or head.last_hash != chain:
        return Verdict(False, checked, f"entries after seq {expected_seq - 1} are missing "
                                       f"(the head records seq {head.last_seq})")
    unsealed = await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None)))
    return Verdict(True, checked, None if not unsealed else f"{unsealed} entries not yet sealed")
