"""Address book use cases."""

from app.addresses import repository
from app.addresses.errors import AddressNotFound
from app.addresses.models import ShippingAddress
from app.addresses.schemas import AddressCreate, AddressUpdate
from app.addresses.views import ADDRESS_READERS, write_address
from app.core.access import allowed_fields, audit_read, audit_write, view
from app.core.db import utcnow
from app.core.deps import Caller
from app.core.schemas import Receipt
from app.identity.service import readable
from app.policy.purposes import Resource


async def _address(caller: Caller, customer_id: str, address_id: str) -> ShippingAddress:
    await readable(caller, customer_id)
    address = await repository.get(caller.session, customer_id, address_id)
    if address is None:
        raise AddressNotFound()
    return address


async def add(caller: Caller, customer_id: str, payload: AddressCreate) -> Receipt:
    """Add an address to a customer's book."""
    await readable(caller, customer_id)
    address = ShippingAddress(customer_id=customer_id)
    fields = write_address(address, caller.keys, payload.model_dump(exclude_none=True))
    await repository.save(caller.session, address)
    await audit_write(caller, Resource.ADDRESS, "create", subject_id=customer_id,
                      resource_id=address.id, fields=fields)
    return Receipt(id=address.id, fields=fields, at=address.created_at)


async def list_for(caller: Caller, customer_id: str, *, cursor: str | None, limit: int) -> dict:
    """A page of a customer's addresses, as the purpose allows."""
    fields = allowed_fields(caller, Resource.ADDRESS)
    await readable(caller, customer_id)
    rows, next_cursor = await repository.list_for(caller.session, customer_id, cursor=cursor,
                                                  limit=limit)
    items = [view(fields, ADDRESS_READERS, row, caller) for row in rows]
    if rows:
        await audit_read(caller, Resource.ADDRESS, [(customer_id, row.id, fields) for row in rows])
    return {"items": items, "next_cursor": next_cursor}


async def read(caller: Caller, customer_id: str, address_id: str) -> dict:
    """One address, as the purpose allows."""
    fields = allowed_fields(caller, Resource.ADDRESS)
    address = await _address(caller, customer_id, address_id)
    await audit_read(caller, Resource.ADDRESS, [(customer_id, address.id, fields)])
    return view(fields, ADDRESS_READERS, address, caller)


async def update(caller: Caller, customer_id: str, address_id: str,
                 payload: AddressUpdate) -> Receipt:
    """Change an address; orders already placed keep the address they were shipped to."""
    address = await _address(caller, customer_id, address_id)
    fields = write_address(address, caller.keys, payload.model_dump(exclude_unset=True))
    address.updated_at = utcnow()
    await repository.save(caller.session, address)
    await audit_write(caller, Resource.ADDRESS, "update", subject_id=customer_id,
                      resource_id=address.id, fields=fields)
    return Receipt(id=address.id, fields=fields, at=address.updated_at)


async def delete(caller: Caller, customer_id: str, address_id: str) -> None:
    """Remove an address from the book."""
    address = await _address(caller, customer_id, address_id)
    await repository.delete(caller.session, address)
    await audit_write(caller, Resource.ADDRESS, "delete", subject_id=customer_id,
                      resource_id=address_id, fields=list(ADDRESS_READERS))
