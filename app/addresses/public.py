"""What other domains may use of the address book: its records, a ship-to copy, erasure."""

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.sources import Records
from app.addresses import repository
from app.addresses.errors import AddressNotFound
from app.addresses.models import ShippingAddress
from app.addresses.readers import ADDRESSES, ENCRYPTED, context
from app.addresses.schemas import AddressView
from app.core.crypto import Keys
from app.core.security import Actor

__all__ = ["AddressView", "ADDRESSES", "erase", "plain_address", "records_of"]


def records_of(customer_id: str) -> Records:
    """The customer's addresses, oldest first (the caller was scoped before)."""
    return Records(select(ShippingAddress).where(ShippingAddress.customer_id == customer_id),
                   (ShippingAddress.created_at, ShippingAddress.id))


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


async def erase(session: AsyncSession, customer_id: str, *, limit: int) -> int:
    """Remove up to `limit` addresses of the customer's book; return how many went."""
    chosen = select(ShippingAddress.id).where(
        ShippingAddress.customer_id == customer_id).limit(limit)
    done = await session.execute(delete(ShippingAddress).where(ShippingAddress.id.in_(chosen))
                                 .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], done).rowcount
