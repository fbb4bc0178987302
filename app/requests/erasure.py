"""Deleting a customer: each domain erases what may go, orders are pseudonymized, in set-based
SQL, in one order of tables so parallel deletions never deadlock. Data under a legal hold
stays, and the answer says what and why; how long the rest is kept comes from the retention
schedule."""

from datetime import datetime, timedelta
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
from app.retention import public as retention

ORDER_LAW = ("Tax and accounting law requires order records to be kept; they are kept "
             "pseudonymized: no name, contact or street.")


def _kept_until(periods: retention.Periods, category: retention.Category, now: datetime
                ) -> str:
    days = periods[category]
    return (f"{retention.kept_for(retention.RULES[category], days)} "
            f"(the latest by {(now + timedelta(days=days)).date()})")


async def erase_customer(session: AsyncSession, customer_id: str, *,
                         periods: retention.Periods) -> dict[str, Any]:
    """Erase a customer's personal data in the caller's transaction; say what was kept and why.

    Idempotent: running it again on an erased customer changes nothing more. A legal hold on
    the customer keeps all of their data; a hold on an order keeps that order whole.
    """
    now = utcnow()
    await identity.lock(session, customer_id)  # first, so parallel deletions queue here
    holds = await retention.holds_of(session, customer_id, now)
    if any(hold["order_number"] is None for hold in holds):
        return {"erased": [], "kept": [], "held": holds}
    held = [hold["order_number"] for hold in holds]
    in_transit = await orders.erase(session, customer_id, now, held=held)
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
         "until": _kept_until(periods, retention.Category.PSEUDONYMIZED_ORDERS, now)}]
    if in_transit:
        kept.append({"category": "shipping addresses of orders on their way",
                     "orders": in_transit,
                     "why": "The parcel is still with the carrier; the address is erased "
                            "the moment it is delivered or cancelled.",
                     "until": "delivery or cancellation"})
    kept.append({"category": "this deletion request", "what": ["request id", "type", "dates"],
                 "why": retention.RULES[retention.Category.CLOSED_REQUESTS].why,
                 "until": _kept_until(periods, retention.Category.CLOSED_REQUESTS, now)})
    answer: dict[str, Any] = {"erased": ["identity", "addresses", "messages", "consents",
                                         "complaints", "contact details on orders"],
                              "kept": kept}
    if holds:
        answer["held"] = holds
    return answer
