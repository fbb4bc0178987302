"""Legal hold routes, for the privacy officer (`X-Purpose: oversight`)."""

from typing import Annotated

from fastapi import Path, Query, Request, status

from app.access.callers import Reader
from app.access.deps import ReaderDep, allow
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.policy.roles import Role
from app.retention import service
from app.retention.schemas import HoldCreate, HoldView

router = api_router(prefix="/v1/holds", tags=["legal holds"], responses=PROBLEM_RESPONSES,
                   dependencies=[allow(Role.PRIVACY_OFFICER)])

HoldId = Annotated[str, Path(max_length=36, description="The legal hold id.")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HoldView,
             response_model_exclude_unset=True, summary="Place a legal hold")
async def place_hold(payload: HoldCreate, caller: ReaderDep, request: Request,
                     idempotency_key: IdempotencyKey = None):
    """Keep a customer's data, or one order, past its retention period: the retention job
    and deletion requests leave it alone (and a deletion's answer says so) until it is
    lifted or `until` passes."""
    return await once(caller.session, caller.actor, idempotency_key, path=request.url.path,
                      payload=payload, status_code=201,
                      create=lambda: _placed(caller, payload))


async def _placed(caller: Reader, payload: HoldCreate) -> HoldView:
    """The placed hold as its view, which a replay under the same key stores and returns."""
    return HoldView.model_validate(await service.place(caller, payload))


@router.get("", response_model=Page[HoldView], response_model_exclude_unset=True,
            summary="List legal holds")
async def list_holds(caller: ReaderDep, customer_id: Annotated[str | None, Query(
                         max_length=36, description="Only this customer's holds.")] = None,
                     active: Annotated[bool, Query(description="Only holds in force now.")]
                     = False, cursor: Cursor = None, limit: Limit = 50):
    """Holds, oldest first."""
    return await service.list_holds(caller, customer_id=customer_id, active=active,
                                    cursor=cursor, limit=limit)


@router.get("/{hold_id}", response_model=HoldView, response_model_exclude_unset=True,
            summary="Read a legal hold")
async def read_hold(hold_id: HoldId, caller: ReaderDep):
    """One hold."""
    return await service.read(caller, hold_id)


@router.post("/{hold_id}/lift", response_model=HoldView, response_model_exclude_unset=True,
             summary="Lift a legal hold")
async def lift_hold(hold_id: HoldId, caller: ReaderDep):
    """End a hold now; what it kept ages out on the next retention run. A second lift: 409."""
    return await service.lift(caller, hold_id)
