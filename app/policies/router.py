"""Policy routes: public reads (no token, by design), the privacy officer's publishing and
notice progress, and the storefront's record of what a customer saw or accepted."""

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response, status

from app.access.deps import WriterDep, allow
from app.core.db import utcnow
from app.core.deps import SessionDep
from app.core.errors import PROBLEM_RESPONSES, problem_doc
from app.core.pagination import Cursor
from app.core.routing import api_router
from app.identity.public import CustomerId
from app.policies import service
from app.policies.caching import FINAL, NOT_MODIFIED, SHORT, cached_json
from app.policies.schemas import (
    AcceptanceCreate,
    AcceptanceRead,
    NoticeProgress,
    PolicyHistory,
    PolicyVersionCreate,
    PolicyVersionRead,
    PolicyVersionSummary,
)
from app.policy.roles import Role

PUBLIC: dict[str, Any] = {"security": []}  # OpenAPI: these reads need no token
PUBLIC_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_MODIFIED, **{status: PROBLEM_RESPONSES[status] for status in (400, 404, 422, 429, 503)}}

public_router = api_router(prefix="/v1/policies", tags=["policies"])
router = api_router(prefix="/v1/policies", tags=["policies"], responses=PROBLEM_RESPONSES,
                   dependencies=[allow(Role.PRIVACY_OFFICER)])
acceptances_router = api_router(prefix="/v1/customers/{customer_id}/policy-acceptances",
                               tags=["policies"], responses=PROBLEM_RESPONSES,
                               dependencies=[allow(Role.STOREFRONT, Role.CUSTOMER)])

Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="The version number.")]
HistoryLimit = Annotated[int, Query(ge=1, le=200, description="Page size, at most 200.")]


def _read(policy) -> dict:
    return PolicyVersionRead.model_validate(policy).model_dump()


@public_router.get("/current", response_model=PolicyVersionRead, openapi_extra=PUBLIC,
                   responses=PUBLIC_RESPONSES, summary="The policy in effect")
async def current_policy(request: Request, session: SessionDep):
    """The version in effect now, with its full text. No token needed; poll with
    `If-None-Match` (304 while unchanged)."""
    return cached_json(request, _read(await service.current(session)), cache_control=SHORT)


@public_router.get("/upcoming", response_model=PolicyVersionRead, openapi_extra=PUBLIC,
                   responses=PUBLIC_RESPONSES, summary="The next scheduled policy")
async def upcoming_policy(request: Request, session: SessionDep):
    """The next version to take effect (404 `no_upcoming_policy` if none). No token needed."""
    return cached_json(request, _read(await service.upcoming(session)), cache_control=SHORT)


@public_router.get("", response_model=PolicyHistory, openapi_extra=PUBLIC,
                   responses=PUBLIC_RESPONSES, summary="Every published version")
async def policy_history(request: Request, session: SessionDep, cursor: Cursor = None,
                         limit: HistoryLimit = 50):
    """Published versions without their text, newest first, withdrawn ones included."""
    page = await service.history(session, cursor=cursor, limit=limit)
    content = {"items": [PolicyVersionSummary.model_validate(p).model_dump()
                         for p in page["items"]], "next_cursor": page["next_cursor"]}
    return cached_json(request, content, cache_control=SHORT)


@public_router.get("/{version}", response_model=PolicyVersionRead, openapi_extra=PUBLIC,
                   responses=PUBLIC_RESPONSES, summary="One published version")
async def policy_version(version: Version, request: Request, session: SessionDep):
    """A version's full text; cached for a day once it took effect or was withdrawn."""
    policy = await service.get(session, version)
    final = policy.withdrawn_at is not None or policy.effective_at <= utcnow()
    return cached_json(request, _read(policy), cache_control=FINAL if final else SHORT)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PolicyVersionRead,
             summary="Publish a policy version")
async def publish_policy(payload: PolicyVersionCreate, caller: WriterDep, response: Response):
    """Publish the next version; `effective_at` at least 7 days ahead (422
    `notice_period_too_short`). A significant version is announced to every customer by email,
    or SMS where only a phone is on file, by the server's background notice run."""
    policy = await service.publish(caller, payload)
    response.headers["Location"] = f"/v1/policies/{policy.version}"
    return policy


@router.post("/{version}/withdrawal", response_model=PolicyVersionRead,
             summary="Withdraw a scheduled version",
             responses={409: problem_doc("In effect already (`policy_already_effective`) or "
                                         "withdrawn (`policy_withdrawn`)")})
async def withdraw_policy(version: Version, caller: WriterDep):
    """Only before it takes effect (409 `policy_already_effective` after); unsent notices
    are dropped."""
    return await service.withdraw(caller, version)


@router.get("/{version}/notices", response_model=NoticeProgress,
            summary="Progress of a version's change notices")
async def notice_progress(version: Version, caller: WriterDep):
    """Counts only: queued (by channel), sent, pending, failed, dropped, remaining."""
    return await service.progress(caller.session, version)


@acceptances_router.post("", status_code=status.HTTP_201_CREATED, response_model=AcceptanceRead,
                         summary="Record that a customer saw or accepted a policy version",
                         responses={200: {"description": "Already recorded; the first record "
                                                         "is returned.",
                                          "model": AcceptanceRead}})
async def record_acceptance(customer_id: CustomerId, payload: AcceptanceCreate, caller: WriterDep,
                            response: Response):
    """The storefront (or the customer, for itself) records `seen` or `accepted`."""
    acceptance, created = await service.record_acceptance(caller, customer_id, payload)
    if not created:
        response.status_code = status.HTTP_200_OK
    return acceptance
