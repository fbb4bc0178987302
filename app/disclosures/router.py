"""Legal disclosure routes, for the privacy officer."""

from typing import Annotated

from fastapi import Path, Query, Request, status
from pydantic import AwareDatetime

from app.access.deps import ReaderDep, WriterDep, allow
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.disclosures import service
from app.disclosures.schemas import DisclosureCreate, DisclosureReceipt, DisclosureView
from app.policy.roles import Role

router = api_router(prefix="/v1/disclosures", tags=["disclosures"], responses=PROBLEM_RESPONSES,
                   dependencies=[allow(Role.PRIVACY_OFFICER)])

@router.post("", status_code=status.HTTP_201_CREATED, response_model=DisclosureReceipt,
             summary="Record a legal disclosure")
async def record_disclosure(payload: DisclosureCreate, writer: WriterDep, request: Request,
                            idempotency_key: IdempotencyKey = None):
    """Record what was disclosed to which authority and on what basis. The customer is
    emailed at once, or on the day after `notify_after` ends the legal bar (a background job,
    or `privacy-api disclosures notify-due`); until then it is absent from their access log
    and export."""
    return await once(writer.session, writer.actor, idempotency_key, path=request.url.path,
                      payload=payload, status_code=201,
                      create=lambda: service.record(writer, payload))

@router.get("", response_model=Page[DisclosureView], response_model_exclude_unset=True,
            summary="List and search legal disclosures")
async def list_disclosures(
        reader: ReaderDep, cursor: Cursor = None, limit: Limit = 50,
        customer_id: Annotated[str | None, Query(max_length=36)] = None,
        authority: Annotated[str | None, Query(max_length=200,
                                               description="Part of the authority's name.")
                             ] = None,
        disclosed_from: Annotated[AwareDatetime | None, Query()] = None,
        disclosed_to: Annotated[AwareDatetime | None, Query(description="Exclusive.")] = None):
    """Disclosures, newest first, for the `oversight` purpose."""
    return await service.search(reader, customer_id=customer_id, authority=authority,
                                disclosed_from=disclosed_from, disclosed_to=disclosed_to,
                                cursor=cursor, limit=limit)

@router.get("/{disclosure_id}", response_model=DisclosureView,
            response_model_exclude_unset=True, summary="Read a legal disclosure")
async def read_disclosure(disclosure_id: Annotated[str, Path(max_length=36)],
                          reader: ReaderDep):
    """One disclosure, for the `oversight` purpose."""
    return await service.read(reader, disclosure_id)
