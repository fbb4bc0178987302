"""Request routes: file, verify, follow, and the privacy officer's view of what is due."""

from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.access.deps import ReaderDep, allow
from app.core.errors import PROBLEM_RESPONSES, AppError, problem_doc, problem_response
from app.core.fields import QueryFlag
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.identity.public import CustomerUpdate
from app.policy.roles import Role
from app.requests import erasure, lockouts, service
from app.requests.models import RequestState, RequestType
from app.requests.schemas import (
    AccessExport,
    LockoutView,
    Rejection,
    RequestCreate,
    RequestView,
    VerificationCode,
)

router = api_router(prefix="/v1/requests", tags=["requests"], responses=PROBLEM_RESPONSES)

RequestId = Annotated[str, Path(max_length=36, description="The request id.")]
FILERS = (Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER, Role.PRIVACY_OFFICER)
LOCKED = "Too many wrong codes for the customer or from the caller (`verification_locked`)"


async def _rules(request: Request) -> service.Rules:
    rules: service.Rules = request.app.state.request_rules
    return rules


RulesDep = Annotated[service.Rules, Depends(_rules)]


async def _erase_later(request: Request, tasks: BackgroundTasks) -> service.EraseLater:
    sessions = request.app.state.sessions
    return lambda request_id: tasks.add_task(erasure.finish, sessions, request_id)


EraseLaterDep = Annotated[service.EraseLater, Depends(_erase_later)]
"""The rest of a deletion is erased in batches after the response (`erasure.finish`)."""


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestView,
             response_model_exclude_unset=True,
             summary="File a request (access, correction, deletion, consent withdrawal)",
             dependencies=[allow(*FILERS)],
             responses={200: {"model": RequestView,
                              "description": "An open request of this type already exists"},
                        429: problem_doc(f"{LOCKED}, or a code was mailed moments ago "
                                         "(`verification_code_recently_sent`)",
                                         retry_after=True)})
async def file_request(payload: RequestCreate, caller: ReaderDep, rules: RulesDep,
                       response: Response, erase_later: EraseLaterDep) -> Any:
    """A one-time code goes to the contact on file (see the mail folder in development); a
    storefront token naming the signed-in customer files it already verified. Consent
    withdrawal takes effect at once. A retry, or any second request of the same type while
    one is open, answers the open request with 200 instead of filing another. At most one
    code mail per customer within `PRIVACY_VERIFICATION_RESEND_SECONDS` (429
    `verification_code_recently_sent`), none while the customer or caller is locked out
    (429 `verification_locked`). The request's
    state is personal data: name the purpose (`self`, `service` or `oversight`)."""
    view, created = await service.file(caller, payload, rules, erase_later=erase_later)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.post("/{request_id}/verify", response_model=RequestView,
             response_model_exclude_unset=True, summary="Verify identity with the one-time code",
             dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER)],
             responses={409: problem_doc("The request awaits no code (`request_not_open`)"),
                        429: problem_doc(LOCKED, retry_after=True)})
async def verify_request(request_id: RequestId, payload: VerificationCode, caller: ReaderDep,
                         rules: RulesDep, erase_later: EraseLaterDep) -> Any:
    """A right code verifies the request, starts its clock and carries it out; five wrong
    codes or an expired one reject it (file it again). Wrong codes count per customer and
    per caller across all requests: too many lock code checks and code mails for a time that
    doubles with each lockout (429 `verification_locked` with `Retry-After`)."""
    outcome = await service.verify(caller, request_id, payload.code, rules,
                                   erase_later=erase_later)
    if isinstance(outcome, AppError):
        return problem_response(status=outcome.status, code=outcome.code, title=outcome.title,
                                detail=outcome.detail, headers=outcome.headers)
    return outcome


@router.get("", response_model=Page[RequestView], response_model_exclude_unset=True,
            summary="List requests, e.g. the overdue ones",
            dependencies=[allow(Role.PRIVACY_OFFICER, Role.SUPPORT_AGENT)])
async def list_requests(caller: ReaderDep, state: RequestState | None = None,
                        type: RequestType | None = None,
                        overdue: Annotated[QueryFlag, Query(
                            description="Open and past due, most overdue first.")] = False,
                        cursor: Cursor = None, limit: Limit = 50) -> Any:
    """Requests by state and type, oldest first (by `received_at`, then `id`); `overdue=true`
    lists the open ones past their due date, most overdue first (by `due_at`, then `id`)
    (`X-Purpose: oversight`). A cursor continues only the list in the order it came from; one
    from a list in the other order is refused with 400 `cursor_order_mismatch`."""
    return await service.list_requests(caller, state=state, type_=type, overdue=overdue,
                                       cursor=cursor, limit=limit)


@router.get("/lockouts", response_model=Page[LockoutView], response_model_exclude_unset=True,
            summary="List verification lockouts",
            dependencies=[allow(Role.PRIVACY_OFFICER)])
async def list_lockouts(caller: ReaderDep,
                        current: Annotated[bool, Query(description="Locked now.")] = False,
                        cursor: Cursor = None, limit: Limit = 50) -> Any:
    """Customers and callers locked out after too many wrong verification codes, with how
    often and until when (`X-Purpose: oversight`)."""
    return await lockouts.list_lockouts(caller, current=current, cursor=cursor, limit=limit)


@router.get("/{request_id}", response_model=RequestView, response_model_exclude_unset=True,
            summary="Read a request")
async def read_request(request_id: RequestId, caller: ReaderDep) -> Any:
    """Where a request stands and when it is due (`self`, `service` or `oversight`)."""
    return await service.read(caller, request_id)


@router.get("/{request_id}/export", response_model=AccessExport,
            response_model_exclude_unset=True, summary="The access export")
async def read_export(request_id: RequestId, reader: ReaderDep, rules: RulesDep,
                      request: Request) -> Any:
    """Identity, addresses, orders, messages, complaints, consents, access log and what is
    retained why, as the `X-Purpose` allows: `self` gives everything; a staff purpose leaves
    out the sections it does not cover (the access log). The document is streamed as it is
    read, however long the history; should the server fail midway, the connection closes
    before the document ends (it is then not valid JSON): ask again."""
    chunks = await service.export_for(reader, request_id, rules,
                                      sessions=request.app.state.sessions)
    return StreamingResponse(chunks, media_type="application/json")


@router.post("/{request_id}/correction", response_model=RequestView,
             response_model_exclude_unset=True,
             summary="Apply the changes of a verified correction request",
             dependencies=[allow(Role.SUPPORT_AGENT, Role.PRIVACY_OFFICER)])
async def apply_correction(request_id: RequestId, payload: CustomerUpdate,
                           caller: ReaderDep) -> Any:
    """For corrections asked by email without exact changes: staff apply them here."""
    return await service.apply_correction(caller, request_id,
                                          payload.model_dump(exclude_unset=True))


@router.post("/{request_id}/reject", response_model=RequestView,
             response_model_exclude_unset=True, summary="Reject a request",
             dependencies=[allow(Role.PRIVACY_OFFICER)])
async def reject_request(request_id: RequestId, payload: Rejection, caller: ReaderDep) -> Any:
    """Reject an open request; the customer is told the reason."""
    return await service.reject(caller, request_id, payload.reason)
