"""What other domains may use of the address book: its records, a ship-to copy, erasure."""

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import repository
from app.addresses.errors import AddressNotFound
from app.addresses.models import ShippingAddress
from app.addresses.readers import ADDRESSES, ENCRYPTED, context
from app.addresses.schemas import AddressView
from app.core.crypto import Keys
from app.core.security import Actor

__all__ = ["AddressView", "ADDRESSES", "erase", "plain_address", "records_of"]


def records_of(customer_id: str) -> Select[ShippingAddress]:
    """The customer's addresses, oldest first (the caller was scoped before)."""
    return (select(ShippingAddress).where(ShippingAddress.customer_id == customer_id)
            .order_by(ShippingAddress.created_at, ShippingAddress.id))


async def plain_address(session: AsyncSession, keys: Keys, actor: Actor, *, customer_id: str,
                        address_id: str) -> dict[str, str | None]:
    """An address decrypted, to copy onto an order; `AddressNotFound` if not visible."""
    address = await repository.get(session, actor, customer_id, address_id)
    if address is None:
        raise AddressNotFound()
    values = {name: keys.cipher.decrypt_optional(getattr(address, f"{name}_enc"),
                                                 context=context(name), row_id=address.id)
              for name in ENCRYPTED}
    return values | {"country": address.country, "state": address.state, "city": address.city}


async def erase(session: AsyncSession, customer_id: str) -> None:
    """Remove the customer's address book."""
    await session.execute(delete(ShippingAddress).where(
        ShippingAddress.customer_id == customer_id))
