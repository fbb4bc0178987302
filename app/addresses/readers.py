"""How each address field is read from a row and written onto it."""

from typing import Any

from app.access.projection import FieldReader
from app.access.sources import Source
from app.addresses.errors import AddressNotFound
from app.addresses.models import ShippingAddress
from app.core.crypto import Keys
from app.policy.purposes import Resource

ENCRYPTED = ("recipient_name", "phone", "street", "house_number", "postal_code")
PLAIN = ("country", "state", "city")


def context(name: str) -> str:
    """The encryption context of an address column."""
    return f"shipping_address.{name}"


def _decrypted(name: str) -> FieldReader:
    return lambda a, k: k.cipher.decrypt_optional(getattr(a, f"{name}_enc"),
                                                  context=context(name), row_id=a.id)


def _plain(name: str) -> FieldReader:
    return lambda a, k: getattr(a, name)


ADDRESS_READERS: dict[str, FieldReader] = {
    "id": lambda a, k: a.id,
    "customer_id": lambda a, k: a.customer_id,
    **{name: _decrypted(name) for name in ENCRYPTED},
    **{name: _plain(name) for name in PLAIN},
    "created_at": lambda a, k: a.created_at,
    "updated_at": lambda a, k: a.updated_at,
}

ADDRESSES = Source(resource=Resource.ADDRESS, readers=ADDRESS_READERS,
                   subject=lambda a: a.customer_id, key=lambda a: a.id,
                   not_found=AddressNotFound)


def write_address(address: ShippingAddress, keys: Keys, changes: dict[str, Any]) -> list[str]:
    """Write plaintext address values onto the row (its id set), encrypting the personal
    ones."""
    for name, value in changes.items():
        if name in ENCRYPTED:
            setattr(address, f"{name}_enc",
                    keys.cipher.encrypt_optional(value, context=context(name),
                                                 row_id=address.id))
        else:
            setattr(address, name, value)
    return sorted(changes)
