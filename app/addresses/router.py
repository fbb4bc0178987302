"""Address book routes under a customer."""

from typing import Annotated

from fastapi import Path, Request, Response, status

from app.access.deps import ReaderDep, WriterDep, allow
from app.addresses import service
from app.addresses.schemas import AddressCreate, AddressUpdate, AddressView
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.core.schemas import Receipt
from app.identity.public import CustomerId
from app.policy.roles import Role

router = api_router(prefix="/v1/customers/{customer_id}/addresses", tags=["addresses"],
                   responses=PROBLEM_RESPONSES)

AddressId = Annotated[str, Path(max_length=36, description="The address id.")]
EDITORS = allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Receipt,
             summary="Add a shipping address", dependencies=[EDITORS])
async def add_address(customer_id: CustomerId, payload: AddressCreate, writer: WriterDep,
                      request: Request, idempotency_key: IdempotencyKey = None):
    """Add an address to the customer's book; personal parts are stored encrypted."""
    return await once(writer.session, writer.actor, idempotency_key,
                      path=request.url.path, payload=payload, status_code=201,
                      create=lambda: service.add(writer, customer_id, payload))


@router.get("", response_model=Page[AddressView], response_model_exclude_unset=True,
            summary="List a customer's shipping addresses")
async def list_addresses(customer_id: CustomerId, reader: ReaderDep, cursor: Cursor = None,
                         limit: Limit = 50):
    """The customer's addresses, oldest first, as the `X-Purpose` allows."""
    return await service.list_for(reader, customer_id, cursor=cursor, limit=limit)


@router.get("/{address_id}", response_model=AddressView, response_model_exclude_unset=True,
            summary="Read a shipping address")
async def read_address(customer_id: CustomerId, address_id: AddressId, reader: ReaderDep):
    """One address, as the `X-Purpose` allows."""
    return await service.read(reader, customer_id, address_id)


@router.patch("/{address_id}", response_model=Receipt, summary="Change a shipping address",
              dependencies=[EDITORS])
async def update_address(customer_id: CustomerId, address_id: AddressId,
                         payload: AddressUpdate, writer: WriterDep):
    """Change an address; orders already placed keep the address they were shipped to."""
    return await service.update(writer, customer_id, address_id, payload)


@router.delete("/{address_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a shipping address", dependencies=[EDITORS])
async def delete_address(customer_id: CustomerId, address_id: AddressId, writer: WriterDep):
    """Remove an address from the book."""
    await service.delete(writer, customer_id, address_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
