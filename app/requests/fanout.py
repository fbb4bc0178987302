"""Rights reach the partners: an erasure or correction is sent, by signed webhook, to every
carrier still holding the customer's undelivered shipments."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders import public as orders
from app.partners import public as partners
from app.requests.models import PrivacyRequest


async def tell_partners(session: AsyncSession, request: PrivacyRequest,
                        event: partners.WebhookEvent) -> dict[str, Any]:
    """Queue a notice to each partner holding the customer's shipments; the outcome part
    naming who was told (confirmations are added as partners confirm)."""
    holdings = await orders.holdings(session, request.customer_id)
    if not holdings:
        return {}
    await partners.tell_partners(session, event=event, request_id=request.id, holdings=holdings)
    return {"partners": {"told": sorted(holdings), "confirmed": []}}


async def note_confirmation(session: AsyncSession, request_id: str, partner_id: str) -> None:
    """Add a partner's confirmation to the request's outcome."""
    request = await session.scalar(select(PrivacyRequest).where(
        PrivacyRequest.id == request_id).with_for_update())
    if request is None or not request.outcome or "partners" not in request.outcome:
        return
    told = request.outcome["partners"]
    confirmed = sorted({*told.get("confirmed", []), partner_id})
    request.outcome = {**request.outcome, "partners": {**told, "confirmed": confirmed}}
    await session.flush()
