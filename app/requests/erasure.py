"""Deleting a customer: each domain erases what may go, orders are pseudonymized, in set-based
SQL, in one order of tables so parallel deletions never deadlock."""

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import public as addresses
from app.complaints import public as complaints
from app.consents import public as consents
from app.core.db import utcnow
from app.identity import public as identity
from app.messages import public as messages
from app.orders import public as orders
from app.outbox import service as outbox
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState

ORDER_LAW = ("Tax and accounting law requires order records to be kept; they are kept "
             "pseudonymized: no name, contact or street.")


async def erase_customer(session: AsyncSession, customer_id: str, *, retention_days: int
                         ) -> dict[str, Any]:
    """Erase a customer's personal data in the caller's transaction; say what was kept and why.

    Idempotent: running it again on an erased customer changes nothing more.
    """
    now = utcnow()
    await identity.lock(session, customer_id)  # first, so parallel deletions queue here
    in_transit = await orders.erase(session, customer_id, now)
    await addresses.erase(session, customer_id)
    await messages.erase(session, customer_id)
    await consents.erase(session, customer_id)
    await complaints.erase(session, customer_id)
    mine = PrivacyRequest.customer_id == customer_id
    await session.execute(update(PrivacyRequest).where(mine).values(
        changes_enc=None, code_hash=None, rejection_reason_enc=None))
    await session.execute(update(PrivacyRequest).where(
        mine, PrivacyRequest.state.in_(OPEN_STATES)).values(
        state=RequestState.REJECTED, rejected_at=now,
        rejection_reason="The customer's data was deleted."))
    await outbox.forget_unsent(session, customer_id)
    await identity.erase(session, customer_id, now)
    kept: list[dict[str, Any]] = [
        {"category": "orders",
         "what": ["order number", "items", "amount", "currency", "payment method",
                  "payment status", "dates", "country, state and city"],
         "why": ORDER_LAW,
         "until": f"{retention_days} days after each order was placed "
                  f"(the latest by {(now + timedelta(days=retention_days)).date()})"}]
    if in_transit:
        kept.append({"category": "shipping addresses of orders on their way",
                     "orders": in_transit,
                     "why": "The parcel is still with the carrier; the address is erased "
                            "the moment it is delivered or cancelled.",
                     "until": "delivery or cancellation"})
    return {"erased": ["identity", "addresses", "messages", "consents", "complaints",
                       "contact details on orders"], "kept": kept}
