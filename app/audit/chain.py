"""Sealing new audit entries into the keyed hash chain.

Requests append entries freely, each with its own MAC. A sealer, run by the one process of the
deployment that owns background work (and before each verification), links unsealed entries in
order: it numbers them and stores the chain hash, then advances the head with a compare-and-set,
so concurrent sealers never interleave and requests never wait on the chain.

Each batch is a few hundred entries, linked on PostgreSQL with one `UPDATE ... FROM unnest(...)`
rather than one UPDATE per entry (SQLite, in-process, runs them as one executemany).

An unsealed entry whose MAC does not verify (inserted or edited by someone without the audit
key) is never sealed. Stopping the chain at it would let one forged row halt the audit trail
for good, so the sealer instead sets it aside: it gets `seq = REJECTED_SEQ`, an error is logged
naming it, and `audit verify` reports it on every run until the owner role removes it.
"""

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, String, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.hashing import HASHED_COLUMNS, link, mac_ok
from app.audit.models import AuditChainHead, AuditEntry
from app.core.db import UTCDateTime

logger = logging.getLogger(__name__)

HEAD_ID = 1
BATCH = 500
REJECTED_SEQ = -1
_ENTRY = AuditEntry.__table__
_ROW = and_(_ENTRY.c.id == bindparam("entry_id"), _ENTRY.c.occurred_at == bindparam("entry_at"))
LINK = update(_ENTRY).where(_ROW).values(seq=bindparam("entry_seq"),
                                         chain_hash=bindparam("entry_chain"))
_LINKS = func.unnest(
    bindparam("ids", type_=ARRAY(String)), bindparam("ats", type_=ARRAY(UTCDateTime)),
    bindparam("seqs", type_=ARRAY(BigInteger)), bindparam("chains", type_=ARRAY(String)),
).table_valued("id", "occurred_at", "seq", "chain_hash").render_derived(name="link")
LINK_ALL = (update(_ENTRY)
            .where(_ENTRY.c.id == _LINKS.c.id, _ENTRY.c.occurred_at == _LINKS.c.occurred_at,
                   _ENTRY.c.seq.is_(None))
            .values(seq=_LINKS.c.seq, chain_hash=_LINKS.c.chain_hash))
REJECT = update(_ENTRY).where(_ROW).values(seq=REJECTED_SEQ)
PENDING_COLUMNS = [_ENTRY.c[c] for c in HASHED_COLUMNS] + [_ENTRY.c.entry_mac]


class SealRaced(RuntimeError):
    """Fewer entries took their links than the head moved by: the batch is rolled back."""


async def newest_pending(session: AsyncSession) -> datetime | None:
    """When the newest unsealed entry occurred: where a sealing pass that starts now ends."""
    return (await session.execute(
        select(func.max(_ENTRY.c.occurred_at)).where(_ENTRY.c.seq.is_(None)))).scalar_one()


async def _store_links(session: AsyncSession, links: list[dict]) -> int:
    """Write the batch's links; return how many entries took theirs."""
    if session.get_bind().dialect.name == "postgresql":
        stored = await session.execute(LINK_ALL, {
            "ids": [entry["entry_id"] for entry in links],
            "ats": [entry["entry_at"] for entry in links],
            "seqs": [entry["entry_seq"] for entry in links],
            "chains": [entry["entry_chain"] for entry in links]})
    else:
        stored = await session.execute(LINK, links)
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    return cast(CursorResult[Any], stored).rowcount


async def seal(session: AsyncSession, *, key: bytes, batch: int = BATCH,
               through: datetime | None = None) -> int:
    """Link up to `batch` unsealed entries (those that occurred by `through`, if given) into
    the chain, setting aside those whose MAC does not verify; return how many entries were
    sealed or set aside (0 also when another sealer moved the head first)."""
    head = (await session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash)
        .where(AuditChainHead.id == HEAD_ID))).one()
    waiting = select(*PENDING_COLUMNS).where(_ENTRY.c.seq.is_(None))
    if through is not None:
        waiting = waiting.where(_ENTRY.c.occurred_at <= through)
    pending = (await session.execute(
        waiting.order_by(_ENTRY.c.occurred_at, _ENTRY.c.id).limit(batch))).mappings().all()
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
    moved = cast(CursorResult[Any], await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID, AuditChainHead.last_seq == head.last_seq)
        .values(last_seq=seq, last_hash=chain)))
    if moved.rowcount != 1:
        return 0
    if links and await _store_links(session, links) != len(links):
        raise SealRaced(f"the head moved by {len(links)} but fewer entries were linked")
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
