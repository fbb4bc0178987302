"""How each customer field is read from a row and written onto it; the policy picks which."""

from typing import Any

from app.access.sources import Source
from app.core.crypto import Keys
from app.identity.errors import CustomerNotFound
from app.identity.models import Customer
from app.policy.purposes import Resource

NAME, EMAIL, PHONE = "customer.name", "customer.email", "customer.phone"

CUSTOMER_READERS = {
    "id": lambda c, k: c.id,
    "customer_key": lambda c, k: k.customer_key(c.id),
    "name": lambda c, k: k.cipher.decrypt(c.name_enc, context=NAME, row_id=c.id),
    "email": lambda c, k: k.cipher.decrypt(c.email_enc, context=EMAIL, row_id=c.id),
    "phone": lambda c, k: k.cipher.decrypt_optional(c.phone_enc, context=PHONE,
                                                    row_id=c.id),
    "created_at": lambda c, k: c.created_at,
    "updated_at": lambda c, k: c.updated_at,
}

CUSTOMERS = Source(resource=Resource.CUSTOMER, readers=CUSTOMER_READERS,
                   subject=lambda c: c.id, key=lambda c: c.id, not_found=CustomerNotFound)


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
