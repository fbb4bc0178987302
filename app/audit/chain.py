"""Sealing new audit entries into the keyed hash chain.

Requests append entries freely, each with its own MAC. A sealer, run in the background by
every app replica and before each verification, links unsealed entries in order: it numbers
them and stores the chain hash, then advances the head with a compare-and-set, so concurrent
sealers never interleave and requests never wait on the chain.

An unsealed entry whose MAC does not verify (inserted or edited by someone without the audit
key) is never sealed. Stopping the chain at it would let one forged row halt the audit trail
for good, so the sealer instead sets it aside: it gets `seq = REJECTED_SEQ`, an error is logged
naming it, and `audit verify` reports it on every run until the owner role removes it.
"""

import logging
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.hashing import HASHED_COLUMNS, link, mac_ok
from app.audit.models import AuditChainHead, AuditEntry

logger = logging.getLogger(__name__)

HEAD_ID = 1
BATCH = 2000
REJECTED_SEQ = -1
_ENTRY = AuditEntry.__table__
_ROW = and_(_ENTRY.c.id == bindparam("entry_id"), _ENTRY.c.occurred_at == bindparam("entry_at"))
LINK = update(_ENTRY).where(_ROW).values(seq=bindparam("entry_seq"),
                                         chain_hash=bindparam("entry_chain"))
REJECT = update(_ENTRY).where(_ROW).values(seq=REJECTED_SEQ)
PENDING_COLUMNS = [_ENTRY.c[c] for c in HASHED_COLUMNS] + [_ENTRY.c.entry_mac]


async def seal(session: AsyncSession, *, key: bytes, batch: int = BATCH) -> int:
    """Link up to `batch` unsealed entries into the chain, setting aside those whose MAC does
    not verify; return how many entries were sealed or set aside."""
    head = (await session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash)
        .where(AuditChainHead.id == HEAD_ID))).one()
    pending = (await session.execute(
        select(*PENDING_COLUMNS).where(_ENTRY.c.seq.is_(None))
        .order_by(_ENTRY.c.occurred_at, _ENTRY.c.id).limit(batch))).mappings().all()
    if not pending:
        return 0
    seq, chain = head.last_seq, head.last_hash
    links, rejected = [], []
    for entry in pending:
        where = {"entry_id": entry["id"], "entry_at": entry["occurred_at"]}
        if not mac_ok(key, entry, entry["entry_mac"]):
            rejected.append(where)
            continue
        seq, chain = seq + 1, link(key, chain, entry["entry_mac"])
        links.append(where | {"entry_seq": seq, "entry_chain": chain})
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    moved = cast(CursorResult[Any], await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID, AuditChainHead.last_seq == head.last_seq)
        .values(last_seq=seq, last_hash=chain)))
    if moved.rowcount != 1:
        return 0
    if links:
        await session.execute(LINK, links)
    if rejected:
        await session.execute(REJECT, rejected)
        logger.error("audit sealer refused %d entries whose MAC does not verify (forged or "
                     "edited before sealing): ids %s", len(rejected),
                     ", ".join(r["entry_id"] for r in rejected))
    return len(links) + len(rejected)


async def unsealed_count(session: AsyncSession) -> int:
    """How many entries wait to be sealed: the backlog, for metrics."""
    return (await session.execute(
        select(func.count()).select_from(_ENTRY).where(_ENTRY.c.seq.is_(None)))).scalar_one()
