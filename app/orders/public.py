"""What other domains may use of orders: the records, and pseudonymization on erasure."""

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.access.sources import Records
from app.orders.models import FulfilmentStatus, Order
from app.orders.readers import ORDERS, PSEUDONYMIZED_SHIP_TO
from app.orders.schemas import OrderView

__all__ = ["OrderView", "ORDERS", "customer_of", "erase_on_arrival", "holdings", "pseudonymize",
           "records_of"]

IN_TRANSIT = (FulfilmentStatus.PLACED, FulfilmentStatus.SHIPPED)


def records_of(customer_id: str) -> Records:
    """The customer's orders with their items, oldest first (the caller was scoped before)."""
    return Records(select(Order).where(Order.customer_id == customer_id)
                   .options(selectinload(Order.items)), (Order.created_at, Order.id))


async def customer_of(session: AsyncSession, order_number: str) -> str | None:
    """The id of the customer who placed the order, if there is such an order."""
    return await session.scalar(select(Order.customer_id).where(
        Order.order_number == order_number))


async def erase_on_arrival(session: AsyncSession, customer_id: str, *,
                           held: Collection[str] = ()) -> list[str]:
    """Mark the customer's orders still on their way to lose their ship-to the moment they
    arrive; return their numbers. Orders under a legal hold (`held` numbers) stay as they
    are."""
    in_transit = (await session.scalars(
        update(Order).where(Order.customer_id == customer_id, Order.order_number.not_in(held),
                            Order.fulfilment_status.in_(IN_TRANSIT),
                            Order.pseudonymized_at.is_(None))
        .values(erase_ship_to_on_arrival=True).returning(Order.order_number))).all()
    return sorted(in_transit)


async def pseudonymize(session: AsyncSession, customer_id: str, now: datetime, *,
                       held: Collection[str] = (), limit: int) -> int:
    """Pseudonymize up to `limit` of the customer's arrived orders: strip recipient, phone,
    street, house and postal code, and the link to the address book; return how many.
    Orders under a legal hold (`held` numbers) stay as they are."""
    chosen = select(Order.id).where(
        Order.customer_id == customer_id, Order.order_number.not_in(held),
        Order.fulfilment_status.not_in(IN_TRANSIT), Order.pseudonymized_at.is_(None)
    ).limit(limit)
    done = await session.execute(
        update(Order).where(Order.id.in_(chosen))
        .values(**PSEUDONYMIZED_SHIP_TO, shipping_address_id=None, pseudonymized_at=now,
                erase_ship_to_on_arrival=False)
        .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], done).rowcount


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
