"""Complaint and inquiry routes."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request, status

from app.access.deps import ReaderDep, WriterDep, allow
from app.complaints import service
from app.complaints.schemas import ComplaintAnswer, ComplaintCreate, ComplaintStatus, ComplaintView
from app.core.business_days import BusinessCalendar
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.fields import QueryFlag
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.core.schemas import Receipt
from app.policy.roles import Role

router = api_router(prefix="/v1/complaints", tags=["complaints"], responses=PROBLEM_RESPONSES)

ComplaintId = Annotated[str, Path(max_length=36, description="The complaint id.")]
STAFF = (Role.SUPPORT_AGENT, Role.PRIVACY_OFFICER)


async def _calendar(request: Request) -> BusinessCalendar:
    return request.app.state.request_rules.calendar


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Receipt,
             summary="Record a complaint or inquiry",
             dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER)])
async def record_complaint(payload: ComplaintCreate, caller: WriterDep, request: Request,
                           calendar: Annotated[BusinessCalendar, Depends(_calendar)],
                           idempotency_key: IdempotencyKey = None):
    """Answered within 3 business days of arrival (`due_at`)."""
    return await once(caller.session, caller.actor, idempotency_key,
                      path=request.url.path, payload=payload, status_code=201,
                      create=lambda: service.record(caller, payload, calendar))


@router.get("", response_model=Page[ComplaintStatus], response_model_exclude_unset=True,
            summary="List complaints, e.g. overdue", dependencies=[allow(*STAFF)])
async def list_complaints(caller: ReaderDep, answered: QueryFlag | None = None,
                          overdue: Annotated[QueryFlag, Query(
                              description="Unanswered, past due, most overdue first.")] = False,
                          cursor: Cursor = None, limit: Limit = 50):
    """Complaints without their text, oldest first (by `received_at`, then `id`); `overdue=true`
    lists the unanswered ones past their due date, most overdue first (by `due_at`, then `id`)
    (`X-Purpose: oversight` or `service`). A cursor continues only the list in the order it came
    from; one from a list in the other order is refused with 400 `cursor_order_mismatch`."""
    return await service.list_complaints(caller, answered=answered, overdue=overdue,
                                         cursor=cursor, limit=limit)


@router.get("/{complaint_id}", response_model=ComplaintView, response_model_exclude_unset=True,
            summary="Read a complaint")
async def read_complaint(complaint_id: ComplaintId, reader: ReaderDep):
    """A complaint with its text and answer (`X-Purpose: service` or `self`; `oversight`
    shows its dates only)."""
    return await service.read(reader, complaint_id)


@router.post("/{complaint_id}/answer", response_model=ComplaintStatus,
             response_model_exclude_unset=True, summary="Answer a complaint",
             dependencies=[allow(*STAFF)])
async def answer_complaint(complaint_id: ComplaintId, payload: ComplaintAnswer,
                           caller: ReaderDep):
    """Keep the answer and email it to the customer; the status returned is read through the
    purpose named (`oversight` or `service`). A second answer gets 409."""
    return await service.answer(caller, complaint_id, payload.answer)
