"""Customer use cases: create, read, find by email, correct."""

from app.core.access import (
    allowed_fields,
    audit_read,
    audit_write,
    ensure_consent,
    read_one,
    view,
)
from app.core.db import utcnow
from app.core.deps import Caller, PurposeNotPermitted
from app.core.schemas import Receipt
from app.identity import repository
from app.identity.errors import CustomerNotFound
from app.identity.models import Customer
from app.identity.schemas import CustomerCreate, CustomerUpdate
from app.identity.views import CUSTOMER_READERS, seal_identity
from app.policy.purposes import Resource


async def create(caller: Caller, payload: CustomerCreate) -> Receipt:
    """Store a new customer's identity, encrypted."""
    customer = Customer()
    fields = seal_identity(customer, caller.keys, payload.model_dump(exclude_none=True))
    await repository.save(caller.session, customer)
    await audit_write(caller, Resource.CUSTOMER, "create", subject_id=customer.id,
                      resource_id=customer.id, fields=fields)
    return Receipt(id=customer.id, fields=fields, at=customer.created_at)


async def readable(caller: Caller, customer_id: str) -> Customer:
    """The customer, if this caller may see it; `CustomerNotFound` otherwise."""
    customer = await repository.get_readable(caller.session, caller.actor, customer_id)
    if customer is None:
        raise CustomerNotFound()
    return customer


async def _present(caller: Caller, customer: Customer, fields: tuple[str, ...]) -> dict:
    await ensure_consent(caller, customer.id)
    result = view(fields, CUSTOMER_READERS, customer, caller)
    await audit_read(caller, Resource.CUSTOMER, [(customer.id, customer.id, fields)])
    return result


async def read(caller: Caller, customer_id: str) -> dict:
    """One customer, holding exactly what the caller's purpose allows."""
    fields = allowed_fields(caller, Resource.CUSTOMER)
    await ensure_consent(caller, customer_id)
    row = await read_one(caller, Resource.CUSTOMER,
                         repository.readable_customer(caller.actor, customer_id),
                         subject_id=customer_id, resource_id=customer_id, fields=fields)
    if row is None:
        raise CustomerNotFound()
    return view(fields, CUSTOMER_READERS, row, caller)


async def find_by_email(caller: Caller, email: str) -> dict:
    """The customer with this email, through the blind index."""
    fields = allowed_fields(caller, Resource.CUSTOMER)
    if "email" not in fields:  # a lookup by email would tie the email to what the purpose shows
        raise PurposeNotPermitted(f"The {caller.purpose} purpose may not look customers up "
                                  "by email.")
    customer = await repository.find_by_email_index(
        caller.session, caller.actor, caller.keys.email_index(email))
    if customer is None:
        raise CustomerNotFound()
    return await _present(caller, customer, fields)


async def correct(caller: Caller, customer_id: str, payload: CustomerUpdate) -> Receipt:
    """Apply a correction; the audit names the changed fields, never their values."""
    customer = await readable(caller, customer_id)
    fields = seal_identity(customer, caller.keys, payload.model_dump(exclude_unset=True))
    customer.updated_at = utcnow()
    await repository.save(caller.session, customer)
    await audit_write(caller, Resource.CUSTOMER, "update", subject_id=customer.id,
                      resource_id=customer.id, fields=fields)
    return Receipt(id=customer.id, fields=fields, at=customer.updated_at)
