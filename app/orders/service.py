"""Order use cases: place, read, list, and record fulfilment and payment events."""

from app.addresses import repository as addresses
from app.addresses.errors import AddressNotFound
from app.core.access import (
    allowed_fields,
    audit_read,
    audit_write,
    ensure_consent,
    view,
    withdrawn,
)
from app.core.db import utcnow
from app.core.deps import Caller, RoleNotPermitted
from app.identity.service import readable
from app.orders import repository
from app.orders.errors import EventBeforePrevious, InvalidTransition, OrderNotFound
from app.orders.models import FulfilmentStatus, Order, OrderItem, PaymentStatus
from app.orders.schemas import FulfilmentUpdate, OrderCreate, OrderReceipt, PaymentUpdate
from app.orders.views import ORDER_READERS, PSEUDONYMIZED_SHIP_TO, copy_ship_to
from app.policy.decisions import Reason, decide
from app.policy.purposes import Resource
from app.policy.roles import Role

F, P = FulfilmentStatus, PaymentStatus
FULFILMENT_STEPS = {F.PLACED: {F.SHIPPED, F.CANCELLED}, F.SHIPPED: {F.DELIVERED, F.CANCELLED}}
PAYMENT_STEPS = {P.PENDING: {P.AUTHORIZED, P.PAID, P.FAILED}, P.AUTHORIZED: {P.PAID, P.FAILED},
                 P.PAID: {P.REFUNDED}, P.FAILED: {P.PENDING, P.AUTHORIZED, P.PAID}}
ARRIVED = (F.DELIVERED, F.CANCELLED)
EVENT_TIME = {F.SHIPPED: "shipped_at", F.DELIVERED: "delivered_at", F.CANCELLED: "cancelled_at"}


def _arrived(order: Order) -> bool:
    """Delivered or cancelled: the carrier's part is over, so the address is sealed."""
    return order.delivered_at is not None or order.cancelled_at is not None


async def place(caller: Caller, payload: OrderCreate) -> OrderReceipt:
    """Store a new order with a copy of the address it ships to."""
    await readable(caller, payload.customer_id)
    address = await addresses.get(caller.session, payload.customer_id,
                                  payload.shipping_address_id)
    if address is None:
        raise AddressNotFound()
    data = payload.model_dump(exclude={"items"})
    order = Order(**{**data, "placed_at": data["placed_at"] or utcnow()},
                  fulfilment_status=F.PLACED)
    order.items = [OrderItem(position=n, **item.model_dump())
                   for n, item in enumerate(payload.items)]
    copy_ship_to(order, address, caller.keys)
    await repository.save(caller.session, order)
    fields = sorted({*payload.model_fields_set, "shipping_address"} - {"shipping_address_id"})
    await audit_write(caller, Resource.ORDER, "create", subject_id=order.customer_id,
                      resource_id=order.order_number, fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=order.created_at)


async def read(caller: Caller, order_number: str) -> dict:
    """One order by number, as the purpose allows; once delivered or cancelled its address is
    sealed."""
    allowed_fields(caller, Resource.ORDER)
    order = await repository.get_readable(caller.session, caller.actor, order_number,
                                          with_items=True)
    if order is None:
        raise OrderNotFound()
    await ensure_consent(caller, order.customer_id)
    fields = allowed_fields(caller, Resource.ORDER, delivered=_arrived(order))
    await audit_read(caller, Resource.ORDER, [(order.customer_id, order.order_number, fields)])
    return view(fields, ORDER_READERS, order, caller)


async def list_orders(caller: Caller, *, customer_id: str | None,
                      fulfilment_status: FulfilmentStatus | None, cursor: str | None,
                      limit: int) -> dict:
    """A page of the orders the caller may see, each shaped by the purpose."""
    open_fields = allowed_fields(caller, Resource.ORDER)
    delivered = decide(caller.actor.role, caller.purpose, Resource.ORDER, delivered=True)
    if customer_id is not None:
        await readable(caller, customer_id)
    rows, next_cursor = await repository.list_readable(
        caller.session, caller.actor, customer_id=customer_id,
        fulfilment_status=fulfilment_status,
        undelivered_only=delivered.reason is Reason.GONE_AFTER_DELIVERY,
        with_items="items" in open_fields, cursor=cursor, limit=limit)
    refused = await withdrawn(caller, {row.customer_id for row in rows})
    shaped = [(row, delivered.fields if _arrived(row) else open_fields)
              for row in rows if row.customer_id not in refused]
    await audit_read(caller, Resource.ORDER,
                     [(row.customer_id, row.order_number, fields) for row, fields in shaped])
    return {"items": [view(fields, ORDER_READERS, row, caller) for row, fields in shaped],
            "next_cursor": next_cursor}


async def _writable(caller: Caller, order_number: str) -> Order:
    order = await repository.get_readable(caller.session, caller.actor, order_number)
    if order is None:
        raise OrderNotFound()
    return order


async def _audit_change(caller: Caller, order: Order, fields: list[str]) -> OrderReceipt:
    order.updated_at = utcnow()
    await repository.save(caller.session, order)
    await audit_write(caller, Resource.ORDER, "update", subject_id=order.customer_id,
                      resource_id=order.order_number, fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=order.updated_at)


async def record_fulfilment(caller: Caller, order_number: str,
                            payload: FulfilmentUpdate) -> OrderReceipt:
    """Record that an order shipped, was delivered or was cancelled."""
    partner = caller.actor.role is Role.LOGISTICS_PARTNER
    if partner and (payload.status is F.CANCELLED or payload.logistics_partner_id):
        raise RoleNotPermitted("Carriers record shipping and delivery only.")
    order = await _writable(caller, order_number)
    current = F(order.fulfilment_status)
    if payload.status not in FULFILMENT_STEPS.get(current, set()):
        raise InvalidTransition(f"An order that is {current} cannot become {payload.status}.")
    time_field, at = EVENT_TIME[payload.status], payload.at or utcnow()
    before = order.shipped_at or order.placed_at
    if at < before:
        raise EventBeforePrevious(f"{payload.status} at {at.isoformat()} is earlier than the "
                                  f"order's previous step ({before.isoformat()}).")
    order.fulfilment_status = payload.status
    setattr(order, time_field, at)
    fields = ["fulfilment_status", time_field]
    if order.erase_ship_to_on_arrival and payload.status in ARRIVED:
        for column, value in PSEUDONYMIZED_SHIP_TO.items():
            setattr(order, column, value)
        order.pseudonymized_at, order.erase_ship_to_on_arrival = utcnow(), False
        fields.append("shipping_address")
    if payload.logistics_partner_id:
        order.logistics_partner_id = payload.logistics_partner_id
        fields.append("logistics_partner_id")
    return await _audit_change(caller, order, fields)


async def record_payment(caller: Caller, order_number: str,
                         payload: PaymentUpdate) -> OrderReceipt:
    """Record the payment status the payment platform reported."""
    order = await _writable(caller, order_number)
    current = P(order.payment_status)
    if payload.status not in PAYMENT_STEPS.get(current, set()):
        raise InvalidTransition(f"A payment that is {current} cannot become {payload.status}.")
    order.payment_status = payload.status
    return await _audit_change(caller, order, ["payment_status"])


async def confirm_destruction(caller: Caller, order_number: str) -> OrderReceipt:
    """Record the carrier's word that it destroyed its copy of a delivered shipment's data."""
    order = await _writable(caller, order_number)
    if not _arrived(order):
        raise InvalidTransition("Only a delivered or cancelled shipment's data is destroyed.")
    fields = ["shipping_address"]
    await audit_write(caller, Resource.ORDER, "confirm_destroyed", subject_id=order.customer_id,
                      resource_id=order.order_number, fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=utcnow())
