"""Request routes: file, verify, follow, and the privacy officer's view of what is due."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.core.deps import Reader, Writer, allow
from app.core.errors import PROBLEM_RESPONSES, problem_response
from app.core.fields import QueryFlag
from app.core.pagination import Cursor, Limit, Page
from app.identity.schemas import CustomerUpdate
from app.policy.roles import Role
from app.requests import service
from app.requests.models import RequestState, RequestType
from app.requests.schemas import Rejection, RequestCreate, RequestView, VerificationCode

router = APIRouter(prefix="/v1/requests", tags=["requests"], responses=PROBLEM_RESPONSES)

RequestId = Annotated[str, Path(max_length=36, description="The request id.")]
FILERS = (Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER, Role.PRIVACY_OFFICER)


def _rules(request: Request) -> service.Rules:
    return request.app.state.request_rules


RulesDep = Annotated[service.Rules, Depends(_rules)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestView,
             summary="File a request (access, correction, deletion, consent withdrawal)",
             dependencies=[allow(*FILERS)],
             responses={200: {"model": RequestView,
                              "description": "An open request of this type already exists"}})
async def file_request(payload: RequestCreate, caller: Writer, rules: RulesDep,
                       response: Response):
    """A one-time code goes to the contact on file (see the mail folder in development); a
    storefront token naming the signed-in customer files it already verified. Consent
    withdrawal takes effect at once. A retry, or any second request of the same type while
    one is open, answers the open request with 200 instead of filing another."""
    view, created = await service.file(caller, payload, rules)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.post("/{request_id}/verify", response_model=RequestView,
             summary="Verify identity with the one-time code",
             dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER)])
async def verify_request(request_id: RequestId, payload: VerificationCode, caller: Writer,
                         rules: RulesDep):
    """A right code verifies the request, starts its clock and carries it out; five wrong
    codes or an expired one reject it (file it again)."""
    view, failure = await service.verify(caller, request_id, payload.code, rules)
    if failure is not None:
        return problem_response(status=failure.status, code=failure.code, title=failure.title,
                                detail=failure.detail)
    return view


@router.get("", response_model=Page[RequestView], summary="List requests, e.g. the overdue ones",
            dependencies=[allow(Role.PRIVACY_OFFICER, Role.SUPPORT_AGENT)])
async def list_requests(caller: Writer, state: RequestState | None = None,
                        type: RequestType | None = None,
                        overdue: Annotated[QueryFlag,
                                           Query(description="Open and past due.")] = False,
                        cursor: Cursor = None, limit: Limit = 50):
    """Requests by state and type, oldest first; `overdue=true` lists the late ones."""
    return await service.list_requests(caller, state=state, type_=type, overdue=overdue,
                                       cursor=cursor, limit=limit)


@router.get("/{request_id}", response_model=RequestView, summary="Read a request",
            dependencies=[allow(*FILERS)])
async def read_request(request_id: RequestId, caller: Writer):
    """Where a request stands and when it is due."""
    return await service.read(caller, request_id)


@router.get("/{request_id}/export", summary="The access export",
            responses={200: {"description": "Everything held about the customer, as JSON"}})
async def read_export(request_id: RequestId, reader: Reader, rules: RulesDep) -> dict:
    """Identity, addresses, orders, messages, complaints, consents, access log and what is
    retained why; for the customer (`X-Purpose: self`), since staff purposes do not cover the
    access log."""
    return await service.export_for(reader, request_id, rules)


@router.post("/{request_id}/correction", response_model=RequestView,
             summary="Apply the changes of a verified correction request",
             dependencies=[allow(Role.SUPPORT_AGENT, Role.PRIVACY_OFFICER)])
async def apply_correction(request_id: RequestId, payload: CustomerUpdate, caller: Writer):
    """For corrections asked by email without exact changes: staff apply them here."""
    return await service.apply_correction(caller, request_id, payload)


@router.post("/{request_id}/reject", response_model=RequestView, summary="Reject a request",
             dependencies=[allow(Role.PRIVACY_OFFICER)])
async def reject_request(request_id: RequestId, payload: Rejection, caller: Writer):
    """Reject an open request; the customer is told the reason."""
    return await service.reject(caller, request_id, payload.reason)
