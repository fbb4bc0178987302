"""Address book use cases."""

from typing import Any

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.projection import Projection
from app.addresses import repository
from app.addresses.errors import AddressNotFound
from app.addresses.models import ShippingAddress
from app.addresses.readers import ADDRESS_READERS, ADDRESSES, write_address
from app.addresses.schemas import AddressCreate, AddressUpdate
from app.core.db import new_id, utcnow
from app.core.schemas import Receipt
from app.identity import public as identity
from app.policy.purposes import Resource


async def _address(caller: Writer, customer_id: str, address_id: str) -> ShippingAddress:
    await identity.ensure_visible(caller, customer_id)
    address = await repository.get(caller.session, caller.actor, customer_id, address_id)
    if address is None:
        raise AddressNotFound()
    return address


async def add(caller: Writer, customer_id: str, payload: AddressCreate) -> Receipt:
    """Add an address to a customer's book."""
    await identity.ensure_visible(caller, customer_id)
    address = ShippingAddress(id=new_id(), customer_id=customer_id)
    fields = write_address(address, caller.keys, payload.model_dump(exclude_none=True))
    await repository.save(caller.session, address)
    await gate.record_write(caller, Resource.ADDRESS, "create", subject_id=customer_id,
                            resource_id=address.id, fields=fields)
    return Receipt(id=address.id, fields=fields, at=address.created_at)


async def list_for(caller: Reader, customer_id: str, *, cursor: str | None, limit: int
                   ) -> dict[str, Any]:
    """A page of a customer's addresses, as the purpose allows."""
    gate.fields_for(caller, ADDRESSES)
    await identity.ensure_visible(caller, customer_id)
    return await gate.read_page(
        caller, ADDRESSES, repository.of_customer(caller.actor, customer_id),
        order=(ShippingAddress.created_at, ShippingAddress.id), cursor=cursor, limit=limit,
        subject_id=customer_id)


async def read(caller: Reader, customer_id: str, address_id: str) -> Projection:
    """One address, as the purpose allows."""
    gate.fields_for(caller, ADDRESSES)
    await identity.ensure_visible(caller, customer_id)
    return await gate.read_one(caller, ADDRESSES,
                               repository.one(caller.actor, customer_id, address_id))


async def update(caller: Writer, customer_id: str, address_id: str,
                 payload: AddressUpdate) -> Receipt:
    """Change an address; orders already placed keep the address they were shipped to."""
    address = await _address(caller, customer_id, address_id)
    fields = write_address(address, caller.keys, payload.model_dump(exclude_unset=True))
    address.updated_at = utcnow()
    await repository.save(caller.session, address)
    await gate.record_write(caller, Resource.ADDRESS, "update", subject_id=customer_id,
                            resource_id=address.id, fields=fields)
    return Receipt(id=address.id, fields=fields, at=address.updated_at)


async def delete(caller: Writer, customer_id: str, address_id: str) -> None:
    """Remove an address from the book."""
    address = await _address(caller, customer_id, address_id)
    await repository.delete(caller.session, address)
    await gate.record_write(caller, Resource.ADDRESS, "delete", subject_id=customer_id,
                            resource_id=address_id, fields=list(ADDRESS_READERS))
