"""Writing audit entries and reading a subject's access log."""

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.hashing import entry_hash
from app.audit.models import AuditEntry
from app.core.db import new_id, utcnow
from app.core.middleware import request_id_var
from app.core.pagination import fetch_page
from app.core.security import Actor


def _entry(actor: Actor, *, action: str, purpose: str | None, subject_id: str | None,
           resource: str, resource_id: str | None, fields: Iterable[str], now) -> dict:
    values = {
        "id": new_id(), "occurred_at": now, "actor_id": actor.partner_id or actor.sub,
        "actor_role": str(actor.role), "purpose": purpose, "action": action,
        "subject_id": subject_id, "resource": resource, "resource_id": resource_id,
        "fields": list(fields), "request_id": request_id_var.get(),
    }
    values["entry_hash"] = entry_hash(values)
    return values


async def record(session: AsyncSession, actor: Actor, *, action: str, purpose: str | None,
                 resource: str, entries: Iterable[tuple[str | None, str | None, Iterable[str]]]
                 ) -> None:
    """Append one entry per (subject_id, resource_id, fields) in the caller's transaction."""
    now = utcnow()
    rows = [
        _entry(actor, action=action, purpose=purpose, subject_id=subject_id, resource=resource,
               resource_id=resource_id, fields=fields, now=now)
        for subject_id, resource_id, fields in entries
    ]
    if rows:
        await session.execute(insert(AuditEntry), rows)


async def access_log(session: AsyncSession, subject_id: str, *, cursor: str | None,
                     limit: int) -> tuple[list[AuditEntry], str | None]:
    """Entries about one subject, newest first."""
    return await fetch_page(session, select(AuditEntry).where(AuditEntry.subject_id == subject_id),
                            AuditEntry.occurred_at, AuditEntry.id, cursor=cursor, limit=limit,
                            descending=True)
