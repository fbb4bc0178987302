"""Writing audit entries and reading a subject's access log."""

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import CTE, Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.hashing import entry_mac
from app.audit.models import AuditEntry
from app.core.db import new_id, utcnow
from app.core.middleware import request_id_var
from app.core.security import Actor
from app.core.statements import Statements

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


def entry(actor: Actor, *, key: bytes, action: str, purpose: str | None, resource: str,
          subject_id: str | None, resource_id: str | None, fields: Iterable[str]) -> dict:
    """One entry's recorded columns, authenticated by its MAC under the audit `key`."""
    return _entry(actor, key=key, action=action, purpose=purpose, subject_id=subject_id,
                  resource=resource, resource_id=resource_id, fields=fields, now=utcnow())


def _bound(values: dict) -> dict:
    return {f"audit_{name}": value for name, value in values.items()}


_ENTRY_VALUES = select(*[bindparam(f"audit_{name}", type_=ENTRY_TABLE.c[name].type).label(name)
                         for name in ENTRY_COLUMNS])
ENTRY_INSERT = insert(ENTRY_TABLE).values(
    {name: bindparam(f"audit_{name}", type_=ENTRY_TABLE.c[name].type) for name in ENTRY_COLUMNS})
"""One entry, its columns as parameters (`audit_<column>`), compiled once."""


@lru_cache(maxsize=128)
def recorded(stmt: Select, found: CTE) -> Select:
    """`stmt`, which reads the CTE `found`, with a data-modifying CTE that records the read's
    entry once for the row `found` holds (and none if it holds none)."""
    audited = insert(ENTRY_TABLE).from_select(
        list(ENTRY_COLUMNS), _ENTRY_VALUES.select_from(found)).cte("audited")
    return stmt.add_cte(audited)


@lru_cache(maxsize=128)
def _found(stmt: Select) -> tuple[Select, CTE]:
    found = stmt.cte("found")
    return select(found), found


async def fetch_recorded(run: Statements, stmt: Select, found: CTE, params: dict, values: dict
                         ) -> Sequence[Any]:
    """The rows of a read that returns rows exactly when its CTE `found` holds one, and the
    read's entry (`values`) if it does.

    On PostgreSQL the entry is inserted by a data-modifying CTE of the read itself: a single
    statement, atomic on its own, so outside a request's transaction it is one round trip.
    Elsewhere (SQLite) the insert follows the read in the request's transaction.
    """
    if run.inserts_in_reads:
        return await run.rows(recorded(stmt, found), params | _bound(values))
    rows = await run.rows(stmt, params)
    if rows:
        await run.run(ENTRY_INSERT, _bound(values))
    return rows


async def fetch_one_recorded(run: Statements, stmt: Select, params: dict, values: dict
                             ) -> Sequence[Any]:
    """A one-row read and its entry, in one statement where the database allows it."""
    read, found = _found(stmt)
    return await fetch_recorded(run, read, found, params, values)


async def record_on(run: Statements, values: dict) -> None:
    """Append one read's entry on the connection that read it."""
    await run.run(ENTRY_INSERT, _bound(values))


def about(subject_id: str) -> Select[AuditEntry]:
    """Entries about one subject (unordered: callers page or order them)."""
    return select(AuditEntry).where(AuditEntry.subject_id == subject_id)


ABOUT_SUBJECT = select(AuditEntry).where(AuditEntry.subject_id == bindparam("subject_id"))
"""Entries about the subject given as the `subject_id` parameter (one statement for all)."""
