"""The privacy officer's questions to the trail: entries selected by customer, actor, role,
purpose, resource, action and time, newest first, keyset-paginated.

Only the repository layer: the route (through the read gate, `oversight` purpose) comes with
the gate. Entries hold field names, never personal values, so nothing here can leak one.
"""

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.core.pagination import fetch_page

OFFICER_FIELDS = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action",
                  "subject_id", "resource", "resource_id", "fields", "request_id", "seq")


@dataclass(frozen=True)
class AuditQuery:
    """Which entries: every given criterion must hold; times are [occurred_from, occurred_to)."""

    subject_id: str | None = None
    actor_id: str | None = None
    actor_role: str | None = None
    purpose: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    action: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def is_empty(self) -> bool:
        """Whether no criterion is given (the whole trail)."""
        return all(getattr(self, f.name) is None for f in fields(self))


EQUALS = ("subject_id", "actor_id", "actor_role", "purpose", "resource", "resource_id",
          "action")


def selection(query: AuditQuery, *columns) -> Select:
    """The entries matching `query`; each criterion is served by an index (see the models)."""
    stmt = select(*columns) if columns else select(AuditEntry)
    for name in EQUALS:
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(getattr(AuditEntry, name) == value)
    if query.occurred_from is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= query.occurred_from)
    if query.occurred_to is not None:
        stmt = stmt.where(AuditEntry.occurred_at < query.occurred_to)
    return stmt


async def search(session: AsyncSession, query: AuditQuery, *, cursor: str | None,
                 limit: int) -> tuple[list[AuditEntry], str | None]:
    """A page of matching entries, newest first, and the cursor of the next page."""
    return await fetch_page(session, selection(query), AuditEntry.occurred_at, AuditEntry.id,
                            cursor=cursor, limit=limit, descending=True)
