"""Writing audit entries and reading a subject's access log."""

from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Row, Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.audit.hashing import entry_mac
from app.audit.models import AuditEntry
from app.core.db import new_id, utcnow
from app.core.middleware import request_id_var
from app.core.security import Actor

ENTRY_TABLE = AuditEntry.__table__
ENTRY_COLUMNS = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action",
                 "subject_id", "resource", "resource_id", "fields", "request_id", "entry_mac")


def _entry(actor: Actor, *, key: bytes, action: str, purpose: str | None, subject_id: str | None,
           resource: str, resource_id: str | None, fields: Iterable[str], now) -> dict:
    values = {
        "id": new_id(), "occurred_at": now, "actor_id": actor.partner_id or actor.sub,
        "actor_role": str(actor.role), "purpose": purpose, "action": action,
        "subject_id": subject_id, "resource": resource, "resource_id": resource_id,
        "fields": list(fields), "request_id": request_id_var.get(),
    }
    values["entry_mac"] = entry_mac(key, values)
    return values


async def record(session: AsyncSession, actor: Actor, *, key: bytes, action: str,
                 purpose: str | None,
                 resource: str, entries: Iterable[tuple[str | None, str | None, Iterable[str]]]
                 ) -> None:
    """Append one entry per (subject_id, resource_id, fields) in the caller's transaction, each
    authenticated by its MAC under the audit `key`."""
    now = utcnow()
    rows = [
        _entry(actor, key=key, action=action, purpose=purpose, subject_id=subject_id,
               resource=resource, resource_id=resource_id, fields=fields, now=now)
        for subject_id, resource_id, fields in entries
    ]
    if rows:
        await session.execute(insert(ENTRY_TABLE), rows)


@lru_cache(maxsize=128)
def _recorded(stmt: Select) -> Select:
    """`stmt` with a data-modifying CTE that records the read of the row it finds."""
    found = stmt.cte("found")
    entry = select(*[bindparam(f"audit_{name}", type_=ENTRY_TABLE.c[name].type).label(name)
                     for name in ENTRY_COLUMNS]).select_from(found)
    audited = insert(ENTRY_TABLE).from_select(list(ENTRY_COLUMNS), entry).cte("audited")
    return select(found).add_cte(audited)


async def fetch_one_recorded(session: AsyncSession, stmt: Select, params: dict, actor: Actor, *,
                             key: bytes, action: str, purpose: str | None, resource: str,
                             subject_id: str, resource_id: str | None, fields: Iterable[str]
                             ) -> Row | None:
    """Run a reusable one-row read and record its entry, in one statement where possible.

    On PostgreSQL the entry is inserted by a data-modifying CTE of the read itself: a single
    statement, atomic on its own, so unless the request already holds a connection it runs in
    one round trip outside the request's transaction; the entry is written only if the row
    exists. Elsewhere (SQLite, where a
    second connection would wait for the request's own write lock) the insert follows the
    read in the request's transaction.
    """
    values = _entry(actor, key=key, action=action, purpose=purpose, subject_id=subject_id,
                    resource=resource, resource_id=resource_id, fields=fields, now=utcnow())
    if session.get_bind().dialect.name != "postgresql":
        row = (await session.execute(stmt, params)).first()
        if row is not None:
            await session.execute(insert(ENTRY_TABLE), [values])
        return row and row[0]
    recorded, all_params = _recorded(stmt), params | {
        f"audit_{name}": value for name, value in values.items()}
    if session.in_transaction():  # the request already holds a connection: use it
        return (await session.execute(recorded, all_params)).first()
    engine = session.bind
    assert isinstance(engine, AsyncEngine)  # request sessions come from the engine's factory
    async with engine.connect() as connection:  # one atomic statement: no BEGIN/COMMIT
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await connection.execute(recorded, all_params)).first()


def about(subject_id: str) -> Select[AuditEntry]:
    """Entries about one subject (unordered: callers page or order them)."""
    return select(AuditEntry).where(AuditEntry.subject_id == subject_id)
