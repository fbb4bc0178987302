"""Partner routes: the registry (privacy officer), destruction oversight, notice confirmations."""

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Query, Request, status

from app.access.deps import WriterDep, allow
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.partners import oversight, service
from app.partners.models import PartnerKind
from app.partners.schemas import (
    Destruction,
    NoticeConfirmation,
    PartnerCreate,
    PartnerSecret,
    PartnerView,
)
from app.policy.roles import Role

router = api_router(prefix="/v1/partners", tags=["partners"], responses=PROBLEM_RESPONSES)
OFFICER = allow(Role.PRIVACY_OFFICER)

PartnerIdPath = Annotated[str, Path(max_length=40, description="The partner's id.")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartnerSecret,
             summary="Register a partner", dependencies=[OFFICER])
async def register_partner(payload: PartnerCreate, writer: WriterDep):
    """Register a partner under its data-sharing agreement. The response holds the webhook
    signing secret: it is shown this once."""
    return await service.register(writer, payload)


@router.get("", response_model=Page[PartnerView], summary="List partners",
            dependencies=[OFFICER])
async def list_partners(writer: WriterDep, kind: PartnerKind | None = None,
                        cursor: Cursor = None, limit: Limit = 50):
    """Registered partners, oldest first."""
    return await service.list_partners(writer, kind=kind, cursor=cursor, limit=limit)


@router.get("/destructions", response_model=Page[Destruction],
            summary="Destruction requests to carriers", dependencies=[OFFICER])
async def list_destructions(writer: WriterDep, request: Request, cursor: Cursor = None,
                            limit: Limit = 50, unconfirmed: Annotated[bool, Query(
                                description="Only those unconfirmed after "
                                            "`PRIVACY_DESTRUCTION_CONFIRM_DAYS`.")] = False):
    """Requests to carriers to destroy a delivered or cancelled shipment's data, and whether
    they confirmed; order numbers and dates only."""
    days = request.app.state.settings.destruction_confirm_days
    return await oversight.destructions(writer, unconfirmed_for=timedelta(days=days)
                                        if unconfirmed else None, cursor=cursor, limit=limit)


@router.post("/notices/{notice_id}/confirm", response_model=NoticeConfirmation,
             summary="Confirm a notice was acted on",
             dependencies=[allow(Role.LOGISTICS_PARTNER, Role.PAYMENT_PARTNER)])
async def confirm_notice(notice_id: Annotated[str, Path(max_length=36)], writer: WriterDep):
    """A partner confirms it erased or corrected the customer data a notice named."""
    return await oversight.confirm_notice(writer, notice_id)


@router.get("/{partner_id}", response_model=PartnerView, summary="Read a partner",
            dependencies=[OFFICER])
async def read_partner(partner_id: PartnerIdPath, writer: WriterDep):
    """One registered partner."""
    return await service.read(writer, partner_id)


@router.post("/{partner_id}/suspension", response_model=PartnerView,
             summary="Suspend a partner", dependencies=[OFFICER])
async def suspend_partner(partner_id: PartnerIdPath, writer: WriterDep):
    """Its tokens get 403 `partner_not_active` at once; new orders may not name it."""
    return await service.suspend(writer, partner_id)


@router.post("/{partner_id}/secret", response_model=PartnerSecret,
             summary="Rotate a partner's signing secret", dependencies=[OFFICER])
async def rotate_secret(partner_id: PartnerIdPath, writer: WriterDep, request: Request):
    """A new secret, shown once; notices are signed with both the new and the previous
    secret for `PRIVACY_PARTNER_SECRET_GRACE_HOURS`."""
    hours = request.app.state.settings.partner_secret_grace_hours
    return await service.rotate_secret(writer, partner_id, grace=timedelta(hours=hours))
