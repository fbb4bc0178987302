"""Deleting a customer: erase what may go, pseudonymize what the law keeps, in set-based SQL."""

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import ShippingAddress
from app.complaints.models import Complaint
from app.consents.models import ConsentEvent
from app.core.db import utcnow
from app.identity.models import Customer
from app.messages.models import Message
from app.orders.models import FulfilmentStatus, Order
from app.orders.views import PSEUDONYMIZED_SHIP_TO
from app.outbox.models import OutboxMessage
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState

IN_TRANSIT = (FulfilmentStatus.PLACED, FulfilmentStatus.SHIPPED)
ORDER_LAW = ("Tax and accounting law requires order records to be kept; they are kept "
             "pseudonymized: no name, contact or street.")


def pseudonymize_orders(now: datetime):
    """UPDATE that strips the recipient's name, phone, street, house and postal code."""
    return update(Order).values(**PSEUDONYMIZED_SHIP_TO, pseudonymized_at=now,
                                erase_ship_to_on_arrival=False)


async def erase_customer(session: AsyncSession, customer_id: str, *, retention_days: int
                         ) -> dict:
    """Erase a customer's personal data in the caller's transaction; say what was kept and why.

    Idempotent: running it again on an erased customer changes nothing more.
    """
    now = utcnow()
    mine = Order.customer_id == customer_id
    in_transit = (await session.scalars(
        update(Order).where(mine, Order.fulfilment_status.in_(IN_TRANSIT),
                            Order.pseudonymized_at.is_(None))
        .values(erase_ship_to_on_arrival=True).returning(Order.order_number))).all()
    await session.execute(pseudonymize_orders(now).where(
        mine, Order.fulfilment_status.not_in(IN_TRANSIT), Order.pseudonymized_at.is_(None)))
    for model in (ShippingAddress, Message, ConsentEvent, Complaint):
        await session.execute(delete(model).where(model.customer_id == customer_id))
    mine_requests = PrivacyRequest.customer_id == customer_id
    await session.execute(update(PrivacyRequest).where(mine_requests).values(
        changes_enc=None, code_hash=None, rejection_reason_enc=None))
    await session.execute(update(PrivacyRequest).where(
        mine_requests, PrivacyRequest.state.in_(OPEN_STATES)).values(
        state=RequestState.REJECTED, rejected_at=now,
        rejection_reason="The customer's data was deleted."))
    await session.execute(delete(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.sent_at.is_(None)))
    await session.execute(update(Customer).where(Customer.id == customer_id).values(
        name_enc=None, email_enc=None, email_index=None, phone_enc=None, erased_at=now,
        updated_at=now))
    kept = [{"category": "orders",
             "what": ["order number", "items", "amount", "currency", "payment method",
                      "payment status", "dates", "country, state and city"],
             "why": ORDER_LAW,
             "until": f"{retention_days} days after each order was placed "
                      f"(the latest by {(now + timedelta(days=retention_days)).date()})"}]
    if in_transit:
        kept.append({"category": "shipping addresses of orders on their way",
                     "orders": sorted(in_transit),
                     "why": "The parcel is still with the carrier; the address is erased "
                            "the moment it is delivered or cancelled.",
                     "until": "delivery or cancellation"})
    return {"erased": ["identity", "addresses", "messages", "consents", "complaints",
                       "contact details on orders"], "kept": kept}
