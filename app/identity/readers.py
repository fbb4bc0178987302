"""How each customer field is read from a row and written onto it; the policy picks which."""

from typing import Any

from app.access.sources import Rows, Source, Stored, decrypted, stored
from app.core.crypto import Keys
from app.identity.errors import CustomerNotFound
from app.identity.models import Customer
from app.policy.purposes import Resource

NAME, EMAIL, PHONE = "customer.name", "customer.email", "customer.phone"

CUSTOMER_READERS = {
    "id": stored("id"),
    "customer_key": Stored(("id",), lambda keys, row_id: keys.customer_key(row_id)),
    "name": decrypted("name_enc", NAME),
    "email": decrypted("email_enc", EMAIL),
    "phone": decrypted("phone_enc", PHONE, optional=True),
    "created_at": stored("created_at"),
    "updated_at": stored("updated_at"),
}

CUSTOMERS = Source(resource=Resource.CUSTOMER, readers=CUSTOMER_READERS,
                   subject=lambda c: c.id, key=lambda c: c.id, not_found=CustomerNotFound,
                   rows=Rows(table=Customer.__table__, subject="id", key="id"))


def seal_identity(customer: Customer, keys: Keys, changes: dict[str, Any]) -> list[str]:
    """Write plaintext identity values onto the row (its id set), encrypted; return the field
    names set."""
    cipher, row_id = keys.cipher, customer.id
    if "name" in changes:
        customer.name_enc = cipher.encrypt(changes["name"], context=NAME, row_id=row_id)
    if "email" in changes:
        customer.email_enc = cipher.encrypt(changes["email"], context=EMAIL, row_id=row_id)
        customer.email_index = keys.email_index(changes["email"])
    if "phone" in changes:
        customer.phone_enc = cipher.encrypt_optional(changes["phone"], context=PHONE,
                                                     row_id=row_id)
    return sorted(changes)
