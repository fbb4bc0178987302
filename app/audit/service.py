"""Reading the trail, itself audited: a customer's access log, the officer's queries and
exports."""

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.access import gate
from app.access.callers import Reader
from app.audit import export as streaming
from app.audit.models import AuditEntry
from app.audit.queries import AuditQuery, selection
from app.audit.readers import ACCESS_LOG, AUDIT_ENTRIES
from app.audit.repository import ABOUT_SUBJECT
from app.identity import public as identity
from app.policy.purposes import Resource


async def access_log(caller: Reader, customer_id: str, *, cursor: str | None, limit: int
                     ) -> dict[str, Any]:
    """A page of the entries about one customer, newest first; 404 if the caller may not see
    the customer."""
    return await gate.read_subject_page(
        caller, ACCESS_LOG, identity.visible_customer(caller.actor, customer_id), ABOUT_SUBJECT,
        subject_id=customer_id, absent=identity.CustomerNotFound,
        order=("occurred_at", "id"), cursor=cursor, limit=limit, descending=True)


async def search(caller: Reader, query: AuditQuery, *, cursor: str | None, limit: int
                 ) -> dict[str, Any]:
    """A page of the trail matching `query`, newest first; each entry read is audited."""
    return await gate.read_page(caller, AUDIT_ENTRIES, selection(query),
                                order=(AuditEntry.occurred_at, AuditEntry.id), cursor=cursor,
                                limit=limit, descending=True)


async def export(caller: Reader, query: AuditQuery, *, form: str, engine: AsyncEngine
                 ) -> AsyncIterator[str]:
    """The matching entries streamed as CSV or JSON lines. The export is audited as one read
    (of the customer it is about, when the query names one) in the request's transaction,
    committed before the first byte; the rows stream over a connection of their own."""
    fields = gate.fields_for(caller, AUDIT_ENTRIES)
    await gate.record_aggregate_read(caller, Resource.AUDIT_ENTRY, fields,
                                     subject_id=query.subject_id)
    stream = streaming.as_csv if form == "csv" else streaming.as_json_lines

    async def chunks() -> AsyncIterator[str]:
        async with engine.connect() as connection:
            async for chunk in stream(connection, query):
                yield chunk

    return chunks()
