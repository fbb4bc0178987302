"""What other domains may use of identity: scoping, contact for mail, corrections, erasure."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.callers import Writer
from app.core.crypto import Keys
from app.core.db import utcnow
from app.identity import repository
from app.identity.errors import CustomerNotFound
from app.identity.models import Customer
from app.identity.readers import CUSTOMERS, EMAIL, PHONE, seal_identity
from app.identity.schemas import CustomerUpdate, CustomerView

__all__ = ["CUSTOMERS", "CUSTOMER_TABLE", "CustomerId", "CustomerNotFound", "CustomerUpdate",
           "CustomerView", "contact_of", "correct", "decrypt_contact", "ensure_visible", "erase",
           "lock", "record_of", "visible_customer", "visible_ids"]

visible_ids = repository.visible_ids
visible_customer = repository.visible_customer

CUSTOMER_TABLE = Customer.__table__
"""The customer table, for set-based jobs that stream customers (notices, retention); its
personal columns are ciphertext, read only through `decrypt_contact`."""

CustomerId = Annotated[str, Path(max_length=36, description="The customer's id.")]
"""The customer id in a route path."""


async def ensure_visible(caller: Writer, customer_id: str) -> None:
    """Raise `CustomerNotFound` unless this caller may see the customer (reads nothing)."""
    stmt, params = repository.visible_customer(caller.actor, customer_id)
    if await caller.session.scalar(stmt, params) is None:
        raise CustomerNotFound()


async def lock(session: AsyncSession, customer_id: str) -> None:
    """Lock the customer's row until the transaction ends: changes that span a customer's
    rows (requests, consents, erasure) take this lock first, so they queue, never deadlock."""
    await session.execute(select(Customer.id).where(Customer.id == customer_id)
                          .with_for_update())


def record_of(customer_id: str) -> Select[Customer]:
    """The customer's own row, for the access export (the caller was scoped before)."""
    return select(Customer).where(Customer.id == customer_id, Customer.erased_at.is_(None))


async def contact_of(session: AsyncSession, keys: Keys, customer_id: str
                     ) -> tuple[str | None, str | None]:
    """The email and phone on file, to send the customer mail (never shown to a caller)."""
    row = (await session.execute(select(Customer.email_enc, Customer.phone_enc).where(
        Customer.id == customer_id, Customer.erased_at.is_(None)))).first()
    if row is None:
        return None, None
    return (keys.cipher.decrypt_optional(row.email_enc, context=EMAIL, row_id=customer_id),
            keys.cipher.decrypt_optional(row.phone_enc, context=PHONE, row_id=customer_id))


def decrypt_contact(keys: Keys, *, customer_id: str, email_enc: str | None,
                    phone_enc: str | None) -> tuple[str | None, str | None]:
    """A customer's email and phone from their stored ciphertexts, to send them a message."""
    return (keys.cipher.decrypt_optional(email_enc, context=EMAIL, row_id=customer_id),
            keys.cipher.decrypt_optional(phone_enc, context=PHONE, row_id=customer_id))


async def correct(session: AsyncSession, keys: Keys, customer_id: str,
                  changes: dict[str, Any]) -> tuple[list[str], datetime]:
    """Apply an identity correction to a customer; return the fields changed and when."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise CustomerNotFound()
    fields = seal_identity(customer, keys, changes)
    customer.updated_at = utcnow()
    await repository.save(session, customer)
    return fields, customer.updated_at


async def erase(session: AsyncSession, customer_id: str, now: datetime) -> None:
    """Erase the customer's identity, leaving a tombstone (id and times)."""
    await session.execute(update(Customer).where(Customer.id == customer_id).values(
        name_enc=None, email_enc=None, email_index=None, phone_enc=None, erased_at=now,
        updated_at=now))
