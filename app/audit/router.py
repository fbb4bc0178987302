"""A customer's own access log, and the privacy officer's queries and exports of the trail."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse

from app.access.deps import ReaderDep, allow
from app.access.projection import GatedJSON
from app.audit import service
from app.audit.queries import AuditQuery
from app.audit.schemas import AccessLogEntry, AuditEntryView
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.identity.public import CustomerId
from app.policy.roles import Role

router = api_router(prefix="/v1/customers/{customer_id}/access-log", tags=["audit"],
                   responses=PROBLEM_RESPONSES)


@router.get("", response_model=Page[AccessLogEntry], response_model_exclude_unset=True,
            summary="Who read my data, when, and why")
async def read_access_log(customer_id: CustomerId, reader: ReaderDep, cursor: Cursor = None,
                          limit: Limit = 50):
    """The customer's own access log, newest first (`X-Purpose: self`)."""
    return GatedJSON(await service.access_log(reader, customer_id, cursor=cursor, limit=limit))


trail_router = api_router(prefix="/v1/audit/entries", tags=["audit"],
                         responses=PROBLEM_RESPONSES, dependencies=[allow(Role.PRIVACY_OFFICER)])

Filter = Annotated[str | None, Query(max_length=200)]


async def _query(customer_id: Filter = None, actor_id: Filter = None, actor_role: Filter = None,
                 purpose: Filter = None, resource: Filter = None, resource_id: Filter = None,
                 action: Filter = None,
                 occurred_from: Annotated[datetime | None, Query(description="From (inclusive).")]
                 = None,
                 occurred_to: Annotated[datetime | None, Query(description="Until (exclusive).")]
                 = None) -> AuditQuery:
    return AuditQuery(subject_id=customer_id, actor_id=actor_id, actor_role=actor_role,
                      purpose=purpose, resource=resource, resource_id=resource_id,
                      action=action, occurred_from=occurred_from, occurred_to=occurred_to)


Selection = Annotated[AuditQuery, Depends(_query)]


@trail_router.get("", response_model=Page[AuditEntryView], response_model_exclude_unset=True,
                  summary="Query the audit trail")
async def query_trail(reader: ReaderDep, selection: Selection, cursor: Cursor = None,
                      limit: Limit = 50) -> Any:
    """Entries by customer, actor, role, purpose, resource, action and time, newest first
    (`X-Purpose: oversight`); entries name fields, never values. The query is audited too."""
    return await service.search(reader, selection, cursor=cursor, limit=limit)


@trail_router.get("/export", summary="Export the audit trail (CSV or JSON lines)",
                  response_class=StreamingResponse,
                  responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                                   "description": "The selection, oldest first, streamed"}})
async def export_trail(reader: ReaderDep, selection: Selection, request: Request,
                       format: Literal["csv", "jsonl"] = "jsonl") -> StreamingResponse:
    """The same selection as the query, streamed in constant memory however large; the export
    itself is audited (`X-Purpose: oversight`)."""
    chunks = await service.export(reader, selection, form=format,
                                  engine=request.app.state.engine)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(chunks, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="audit-trail.{format}"'})
