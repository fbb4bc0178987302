"""Consent routes under a customer."""

from typing import Annotated

from fastapi import Path

from app.access.deps import ReaderDep, allow
from app.consents import service
from app.consents.schemas import ConsentChange, ConsentState
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import api_router
from app.identity.public import CustomerId
from app.policy.roles import Role

router = api_router(prefix="/v1/customers/{customer_id}/consents", tags=["consents"],
                   responses=PROBLEM_RESPONSES)

ConsentPurpose = Annotated[str, Path(max_length=40, examples=["notifications"],
                                     description="A consent-based purpose.")]


@router.get("", response_model=list[ConsentState],
            response_model_exclude_unset=True, summary="A customer's consents")
async def list_consents(customer_id: CustomerId, reader: ReaderDep):
    """Current consent to each consent-based purpose, with its history (`X-Purpose: self` or
    `service`)."""
    return await service.read(reader, customer_id)


@router.put("/{purpose}", response_model=ConsentState,
            response_model_exclude_unset=True, summary="Grant or withdraw consent",
            dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER,
                                Role.PRIVACY_OFFICER)])
async def change_consent(customer_id: CustomerId, purpose: ConsentPurpose,
                         payload: ConsentChange, caller: ReaderDep):
    """Withdrawal takes effect at once: reads for that purpose get 403 `consent_withdrawn`.
    The standing returned is personal data: name the purpose (`self`, `service` or
    `oversight`)."""
    return await service.change(caller, customer_id, purpose, granted=payload.granted)
