"""Address queries, scoped to the customers the caller may see."""

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import ShippingAddress
from app.core.security import Actor
from app.identity import public as identity


def of_customer(actor: Actor, customer_id: str) -> Select[ShippingAddress]:
    """A customer's addresses, if this actor may see the customer."""
    return select(ShippingAddress).where(
        ShippingAddress.customer_id == customer_id,
        ShippingAddress.customer_id.in_(identity.visible_ids(actor)))


def one(actor: Actor, customer_id: str, address_id: str) -> Select[ShippingAddress]:
    """One address of a customer, if this actor may see the customer."""
    return of_customer(actor, customer_id).where(ShippingAddress.id == address_id)


async def get(session: AsyncSession, actor: Actor, customer_id: str, address_id: str
              ) -> ShippingAddress | None:
    """One address of a customer this actor may see, to change it."""
    address: ShippingAddress | None = await session.scalar(one(actor, customer_id, address_id))
    return address


async def save(session: AsyncSession, address: ShippingAddress) -> ShippingAddress:
    """Store a new or changed address."""
    session.add(address)
    await session.flush()
    return address


async def delete(session: AsyncSession, address: ShippingAddress) -> None:
    """Remove an address from the book (orders keep their own copy)."""
    await session.delete(address)
    await session.flush()
