"""Logistics updates to the customer by email, only while they consent to notifications."""

from app.access import gate
from app.access.callers import Writer
from app.consents import public as consents
from app.identity import public as identity
from app.orders.models import FulfilmentStatus, Order
from app.outbox.service import enqueue
from app.policy.purposes import Purpose, Resource

KIND = "logistics_update"


def _text(order: Order) -> tuple[str, str]:
    if order.fulfilment_status == FulfilmentStatus.SHIPPED:
        window = (f"between {order.deliver_from:%Y-%m-%d} and {order.deliver_by:%Y-%m-%d}"
                  if order.deliver_from and order.deliver_by else "soon")
        return (f"Your order {order.order_number} has shipped",
                f"Your order {order.order_number} is on its way. It should arrive {window}.")
    return (f"Your order {order.order_number} was delivered",
            f"Your order {order.order_number} was delivered. Thank you for shopping with us.")


async def tell_customer(caller: Writer, order: Order) -> bool:
    """Queue a shipping or delivery update, unless the customer withdrew notifications
    consent or has no email on file; return whether one was queued."""
    customer_id = order.customer_id
    if await consents.withdrawn_among(caller.session, Purpose.NOTIFICATIONS.value,
                                      [customer_id]):
        return False
    email, _ = await identity.contact_of(caller.session, caller.keys, customer_id)
    if email is None:
        return False
    subject, body = _text(order)
    await enqueue(caller.session, caller.keys, kind=KIND, to=email, subject=subject, body=body,
                  customer_id=customer_id)
    await gate.record_write(caller, Resource.CUSTOMER, "notify", subject_id=customer_id,
                            resource_id=order.order_number, fields=["email"])
    return True
