"""Order queries, always scoped to the orders the caller may see."""

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.security import Actor
from app.orders.errors import OrderNumberTaken
from app.orders.models import FulfilmentStatus, Order
from app.policy.roles import Role


def readable_orders(actor: Actor, *, with_items: bool = False) -> Select[Order]:
    """Orders this actor may see: customers their own, partners the ones they handle."""
    stmt = select(Order)
    if with_items:
        stmt = stmt.options(selectinload(Order.items))
    if actor.role is Role.CUSTOMER:
        return stmt.where(Order.customer_id == actor.sub)
    if actor.role is Role.LOGISTICS_PARTNER:
        return stmt.where(Order.logistics_partner_id == actor.partner_id)
    if actor.role is Role.PAYMENT_PARTNER:
        return stmt.where(Order.payment_partner_id == actor.partner_id)
    return stmt


def by_number(actor: Actor, order_number: str, *, with_items: bool = False
              ) -> Select[Order]:
    """One order by number, if this actor may see it."""
    return readable_orders(actor, with_items=with_items).where(Order.order_number == order_number)


@lru_cache
def _one(role: Role) -> Select[Order]:
    """One order by its number (`:order_number`) if the role's caller (`:actor_sub`,
    `:partner_id`) may see it."""
    stmt = select(Order).where(Order.order_number == bindparam("order_number"))
    if role is Role.CUSTOMER:
        return stmt.where(Order.customer_id == bindparam("actor_sub"))
    if role is Role.LOGISTICS_PARTNER:
        return stmt.where(Order.logistics_partner_id == bindparam("partner_id"))
    if role is Role.PAYMENT_PARTNER:
        return stmt.where(Order.payment_partner_id == bindparam("partner_id"))
    return stmt


def readable_order(actor: Actor, order_number: str) -> tuple[Select[Order], dict[str, Any]]:
    """A reusable statement reading one order by number if this actor may see it, and its
    parameters."""
    return _one(actor.role), {"order_number": order_number, "actor_sub": actor.sub,
                              "partner_id": actor.partner_id}


def listed(actor: Actor, *, customer_id: str | None, fulfilment_status: FulfilmentStatus | None,
           with_items: bool) -> Select[Order]:
    """The orders this actor may see, optionally one customer's or in one state."""
    stmt = readable_orders(actor, with_items=with_items)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if fulfilment_status is not None:
        stmt = stmt.where(Order.fulfilment_status == fulfilment_status)
    return stmt


def late(actor: Actor, *, now: datetime, with_items: bool) -> Select[Order]:
    """Orders this actor may see that are still unshipped past their ship-by date."""
    return readable_orders(actor, with_items=with_items).where(
        Order.fulfilment_status == FulfilmentStatus.PLACED, Order.ship_by < now)


async def get_writable(session: AsyncSession, actor: Actor, order_number: str) -> Order | None:
    """One order by number this actor may see, locked until the transaction ends."""
    order: Order | None = await session.scalar(
        by_number(actor, order_number).with_for_update())
    return order


async def save(session: AsyncSession, order: Order) -> Order:
    """Store a new or changed order; raise `OrderNumberTaken` on a duplicate number."""
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        raise OrderNumberTaken() from None
    return order
