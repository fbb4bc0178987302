"""Order queries, always scoped to the orders the caller may see."""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.pagination import fetch_page
from app.core.security import Actor
from app.orders.errors import OrderNumberTaken
from app.orders.models import FulfilmentStatus, Order
from app.policy.roles import Role


def readable_orders(actor: Actor) -> Select[tuple[Order]]:
    """Orders this actor may see: customers their own, partners the ones they handle."""
    stmt = select(Order)
    if actor.role is Role.CUSTOMER:
        return stmt.where(Order.customer_id == actor.sub)
    if actor.role is Role.LOGISTICS_PARTNER:
        return stmt.where(Order.logistics_partner_id == actor.partner_id)
    if actor.role is Role.PAYMENT_PARTNER:
        return stmt.where(Order.payment_partner_id == actor.partner_id)
    return stmt


async def get_readable(session: AsyncSession, actor: Actor, order_number: str, *,
                       with_items: bool = False) -> Order | None:
    """One order by number, if this actor may see it."""
    stmt = readable_orders(actor).where(Order.order_number == order_number)
    if with_items:
        stmt = stmt.options(selectinload(Order.items))
    return await session.scalar(stmt)


async def list_readable(
    session: AsyncSession, actor: Actor, *, customer_id: str | None,
    fulfilment_status: FulfilmentStatus | None, undelivered_only: bool, with_items: bool,
    cursor: str | None, limit: int,
) -> tuple[list[Order], str | None]:
    """A page of the orders this actor may see, oldest first."""
    stmt = readable_orders(actor)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if fulfilment_status is not None:
        stmt = stmt.where(Order.fulfilment_status == fulfilment_status)
    if undelivered_only:
        stmt = stmt.where(Order.delivered_at.is_(None), Order.cancelled_at.is_(None))
    if with_items:
        stmt = stmt.options(selectinload(Order.items))
    return await fetch_page(session, stmt, Order.created_at, Order.id, cursor=cursor,
                            limit=limit)


async def save(session: AsyncSession, order: Order) -> Order:
    """Store a new or changed order; raise `OrderNumberTaken` on a duplicate number."""
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        raise OrderNumberTaken() from None
    return order
