"""Customer use cases: create, read, find by email, correct."""

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.errors import PurposeNotPermitted
from app.access.projection import Projection
from app.core.db import new_id
from app.core.schemas import Receipt
from app.identity import public, repository
from app.identity.models import Customer
from app.identity.readers import CUSTOMERS, seal_identity
from app.identity.schemas import CustomerCreate, CustomerUpdate
from app.policy.purposes import Resource


async def create(caller: Writer, payload: CustomerCreate) -> Receipt:
    """Store a new customer's identity, encrypted."""
    customer = Customer(id=new_id())
    fields = seal_identity(customer, caller.keys, payload.model_dump(exclude_none=True))
    await repository.save(caller.session, customer)
    await gate.record_write(caller, Resource.CUSTOMER, "create", subject_id=customer.id,
                            resource_id=customer.id, fields=fields)
    return Receipt(id=customer.id, fields=fields, at=customer.created_at)


async def read(caller: Reader, customer_id: str) -> Projection:
    """One customer, holding exactly what the caller's purpose allows."""
    return await gate.read_known(caller, CUSTOMERS,
                                 repository.readable_customer(caller.actor, customer_id),
                                 subject_id=customer_id, resource_id=customer_id)


async def find_by_email(caller: Reader, email: str) -> Projection:
    """The customer with this email, through the blind index."""
    if "email" not in gate.fields_for(caller, CUSTOMERS):
        # a lookup by email would tie the email to what the purpose shows
        raise PurposeNotPermitted(f"The {caller.purpose} purpose may not look customers up "
                                  "by email.")
    return await gate.read_one(caller, CUSTOMERS, repository.by_email_index(
        caller.actor, caller.keys.email_index(email)))


async def correct(caller: Writer, customer_id: str, payload: CustomerUpdate) -> Receipt:
    """Apply a correction; the audit names the changed fields, never their values."""
    await public.ensure_visible(caller, customer_id)
    fields, at = await public.correct(caller.session, caller.keys, customer_id,
                                      payload.model_dump(exclude_unset=True))
    await gate.record_write(caller, Resource.CUSTOMER, "update", subject_id=customer_id,
                            resource_id=customer_id, fields=fields)
    return Receipt(id=customer_id, fields=fields, at=at)
