"""What other domains may use of orders: the records, and pseudonymization on erasure."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.orders.models import FulfilmentStatus, Order
from app.orders.readers import ORDERS, PSEUDONYMIZED_SHIP_TO
from app.orders.schemas import OrderView

__all__ = ["OrderView", "ORDERS", "customer_of", "erase", "holdings", "records_of"]

IN_TRANSIT = (FulfilmentStatus.PLACED, FulfilmentStatus.SHIPPED)


def records_of(customer_id: str) -> Select[Order]:
    """The customer's orders with their items, oldest first (the caller was scoped before)."""
    return (select(Order).where(Order.customer_id == customer_id)
            .options(selectinload(Order.items)).order_by(Order.created_at, Order.id))


async def customer_of(session: AsyncSession, order_number: str) -> str | None:
    """The id of the customer who placed the order, if there is such an order."""
    return await session.scalar(select(Order.customer_id).where(
        Order.order_number == order_number))


async def erase(session: AsyncSession, customer_id: str, now: datetime, *,
                held: Collection[str] = ()) -> list[str]:
    """Pseudonymize the customer's orders: strip recipient, phone, street, house and postal
    code. Orders still on their way keep their ship-to until they arrive; their numbers
    are returned. Orders under a legal hold (`held` numbers) stay as they are."""
    mine = and_(Order.customer_id == customer_id, Order.order_number.not_in(held))
    in_transit = (await session.scalars(
        update(Order).where(mine, Order.fulfilment_status.in_(IN_TRANSIT),
                            Order.pseudonymized_at.is_(None))
        .values(erase_ship_to_on_arrival=True).returning(Order.order_number))).all()
    await session.execute(
        update(Order).where(mine, Order.fulfilment_status.not_in(IN_TRANSIT),
                            Order.pseudonymized_at.is_(None))
        .values(**PSEUDONYMIZED_SHIP_TO, pseudonymized_at=now, erase_ship_to_on_arrival=False))
    return sorted(in_transit)


async def holdings(session: AsyncSession, customer_id: str) -> dict[str, list[str]]:
    """The customer's undelivered shipments by the carrier holding them: partner -> numbers."""
    rows = (await session.execute(select(Order.logistics_partner_id, Order.order_number).where(
        Order.customer_id == customer_id, Order.fulfilment_status.in_(IN_TRANSIT),
        Order.logistics_partner_id.is_not(None)))).all()
    found: dict[str, list[str]] = {}
    for partner_id, number in rows:
        assert partner_id is not None  # the query keeps only shipments with a carrier
        found.setdefault(partner_id, []).append(number)
    return {p: sorted(numbers) for p, numbers in found.items()}
