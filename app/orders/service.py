"""Order use cases: place, read, list, and record fulfilment and payment events."""

from typing import Any

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.errors import RoleNotPermitted
from app.access.projection import Projection
from app.addresses import public as addresses
from app.core.business_days import BusinessCalendar
from app.core.db import new_id, utcnow
from app.identity import public as identity
from app.orders import promises, repository, updates
from app.orders.errors import (
    DestructionConfirmed,
    EventBeforePrevious,
    InvalidTransition,
    OrderNotFound,
)
from app.orders.models import FulfilmentStatus, Order, OrderItem, PaymentStatus
from app.orders.readers import ORDERS, PSEUDONYMIZED_SHIP_TO, arrived, copy_ship_to
from app.orders.schemas import FulfilmentUpdate, OrderCreate, OrderReceipt, PaymentUpdate
from app.partners import public as partners
from app.policy.purposes import Resource
from app.policy.roles import Role

F, P = FulfilmentStatus, PaymentStatus
FULFILMENT_STEPS = {F.PLACED: {F.SHIPPED, F.CANCELLED}, F.SHIPPED: {F.DELIVERED, F.CANCELLED}}
PAYMENT_STEPS = {P.PENDING: {P.AUTHORIZED, P.PAID, P.FAILED}, P.AUTHORIZED: {P.PAID, P.FAILED},
                 P.PAID: {P.REFUNDED}, P.FAILED: {P.PENDING, P.AUTHORIZED, P.PAID}}
ARRIVED = (F.DELIVERED, F.CANCELLED)
EVENT_TIME = {F.SHIPPED: "shipped_at", F.DELIVERED: "delivered_at", F.CANCELLED: "cancelled_at"}


async def _ensure_partners(caller: Writer, *, logistics: str | None, payment: str | None
                           ) -> None:
    """Orders name only active partners of the right kind (422 otherwise)."""
    if logistics:
        await partners.ensure_active(caller.session, logistics, partners.PartnerKind.LOGISTICS)
    if payment:
        await partners.ensure_active(caller.session, payment, partners.PartnerKind.PAYMENT)


async def place(caller: Writer, payload: OrderCreate, *, calendar: BusinessCalendar
                ) -> OrderReceipt:
    """Store a new order with a copy of the address it ships to."""
    await identity.ensure_visible(caller, payload.customer_id)
    await _ensure_partners(caller, logistics=payload.logistics_partner_id,
                           payment=payload.payment_partner_id)
    address = await addresses.plain_address(
        caller.session, caller.keys, caller.actor, customer_id=payload.customer_id,
        address_id=payload.shipping_address_id)
    data = payload.model_dump(exclude={"items"})
    order = Order(**{**data, "placed_at": data["placed_at"] or utcnow()}, id=new_id(),
                  fulfilment_status=F.PLACED)
    order.items = [OrderItem(position=n, **item.model_dump())
                   for n, item in enumerate(payload.items)]
    copy_ship_to(order, address, caller.keys)
    promises.stamp(order, calendar)
    await repository.save(caller.session, order)
    fields = sorted({*payload.model_fields_set, "shipping_address"} - {"shipping_address_id"})
    await gate.record_write(caller, Resource.ORDER, "create", subject_id=order.customer_id,
                            resource_id=order.order_number, fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=order.created_at)


def _needs_items(caller: Reader) -> bool:
    return "items" in gate.fields_for(caller, ORDERS)


async def read(caller: Reader, order_number: str) -> Projection:
    """One order by number, as the purpose allows; once delivered or cancelled its address is
    sealed."""
    return await gate.read_found(caller, ORDERS,
                                 repository.readable_order(caller.actor, order_number))


async def list_orders(caller: Reader, *, customer_id: str | None,
                      fulfilment_status: FulfilmentStatus | None, cursor: str | None,
                      limit: int) -> dict[str, Any]:
    """A page of the orders the caller may see, each shaped by the purpose."""
    with_items = _needs_items(caller)
    if customer_id is not None:
        await identity.ensure_visible(caller, customer_id)
    stmt = repository.listed(caller.actor, customer_id=customer_id,
                             fulfilment_status=fulfilment_status, with_items=with_items)
    return await gate.read_page(caller, ORDERS, stmt, order=(Order.created_at, Order.id),
                                cursor=cursor, limit=limit)


async def list_late(caller: Reader, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """Orders not shipped by their ship-by date, most overdue first."""
    stmt = repository.late(caller.actor, now=utcnow(), with_items=_needs_items(caller))
    return await gate.read_page(caller, ORDERS, stmt, order=(Order.ship_by, Order.id),
                                cursor=cursor, limit=limit)


async def _writable(caller: Writer, order_number: str) -> Order:
    order = await repository.get_writable(caller.session, caller.actor, order_number)
    if order is None:
        raise OrderNotFound()
    return order


async def _audit_change(caller: Writer, order: Order, fields: list[str]) -> OrderReceipt:
    order.updated_at = utcnow()
    await repository.save(caller.session, order)
    await gate.record_write(caller, Resource.ORDER, "update", subject_id=order.customer_id,
                            resource_id=order.order_number, fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=order.updated_at)


async def record_fulfilment(caller: Writer, order_number: str, payload: FulfilmentUpdate, *,
                            calendar: BusinessCalendar) -> OrderReceipt:
    """Record that an order shipped, was delivered or was cancelled."""
    partner = caller.actor.role is Role.LOGISTICS_PARTNER
    if partner and (payload.status is F.CANCELLED or payload.logistics_partner_id):
        raise RoleNotPermitted("Carriers record shipping and delivery only.")
    await _ensure_partners(caller, logistics=payload.logistics_partner_id, payment=None)
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
    if payload.status is F.SHIPPED:
        promises.stamp(order, calendar)  # derived dates, not personal data: not in `fields`
    if payload.status in ARRIVED and order.logistics_partner_id:
        await partners.request_destruction(caller.session, partner_id=order.logistics_partner_id,
                                           order_number=order.order_number)
    receipt = await _audit_change(caller, order, fields)
    if payload.status in (F.SHIPPED, F.DELIVERED):
        await updates.tell_customer(caller, order)
    return receipt


async def record_payment(caller: Writer, order_number: str,
                         payload: PaymentUpdate) -> OrderReceipt:
    """Record the payment status the payment platform reported."""
    order = await _writable(caller, order_number)
    current = P(order.payment_status)
    if payload.status not in PAYMENT_STEPS.get(current, set()):
        raise InvalidTransition(f"A payment that is {current} cannot become {payload.status}.")
    order.payment_status = payload.status
    return await _audit_change(caller, order, ["payment_status"])


async def confirm_destruction(caller: Writer, order_number: str) -> OrderReceipt:
    """Record the carrier's word that it destroyed its copy of a delivered shipment's data,
    once (409 `destruction_already_confirmed` after that)."""
    order = await _writable(caller, order_number)
    if not arrived(order):
        raise InvalidTransition("Only a delivered or cancelled shipment's data is destroyed.")
    if order.ship_to_destroyed_at is not None:
        raise DestructionConfirmed("The destruction of this shipment's data was confirmed "
                                   f"at {order.ship_to_destroyed_at.isoformat()}.")
    order.ship_to_destroyed_at = utcnow()
    await repository.save(caller.session, order)
    fields = ["shipping_address"]
    await partners.confirm_destruction(caller.session, partner_id=caller.actor.partner_id or "",
                                       order_number=order.order_number)
    await gate.record_write(caller, Resource.ORDER, "confirm_destroyed",
                            subject_id=order.customer_id, resource_id=order.order_number,
                            fields=fields)
    return OrderReceipt(id=order.id, order_number=order.order_number, fields=fields,
                        at=order.ship_to_destroyed_at)
