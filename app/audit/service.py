"""Reading a customer's access log, itself audited."""

from typing import Any

from app.access import gate
from app.access.callers import Reader
from app.audit.models import AuditEntry
from app.audit.readers import ACCESS_LOG
from app.audit.repository import about
from app.identity import public as identity


async def access_log(caller: Reader, customer_id: str, *, cursor: str | None, limit: int
                     ) -> dict[str, Any]:
    """A page of the entries about one customer, newest first."""
    gate.fields_for(caller, ACCESS_LOG)
    await identity.ensure_visible(caller, customer_id)
    return await gate.read_page(
        caller, ACCESS_LOG, about(customer_id),
        order=(AuditEntry.occurred_at, AuditEntry.id), cursor=cursor, limit=limit,
        descending=True, subject_id=customer_id)
