"""Address queries, scoped to the customers the caller may see."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import ShippingAddress
from app.core.pagination import fetch_page


async def get(session: AsyncSession, customer_id: str, address_id: str) -> ShippingAddress | None:
    """One address of a customer."""
    return await session.scalar(select(ShippingAddress).where(
        ShippingAddress.customer_id == customer_id, ShippingAddress.id == address_id))


async def list_for(session: AsyncSession, customer_id: str, *, cursor: str | None, limit: int
                   ) -> tuple[list[ShippingAddress], str | None]:
    """A page of a customer's addresses, oldest first."""
    mine = select(ShippingAddress).where(ShippingAddress.customer_id == customer_id)
    return await fetch_page(session, mine, ShippingAddress.created_at, ShippingAddress.id,
                            cursor=cursor, limit=limit)


async def save(session: AsyncSession, address: ShippingAddress) -> ShippingAddress:
    """Store a new or changed address."""
    session.add(address)
    await session.flush()
    return address


async def delete(session: AsyncSession, address: ShippingAddress) -> None:
    """Remove an address from the book (orders keep their own copy)."""
    await session.delete(address)
    await session.flush()
