"""How each address field is read from a row and written onto it."""

from app.addresses.models import ShippingAddress
from app.core.crypto import Keys

ENCRYPTED = ("recipient_name", "phone", "street", "house_number", "postal_code")
PLAIN = ("country", "state", "city")


def _decrypted(name: str):
    context = f"shipping_address.{name}"
    return lambda a, k: k.cipher.decrypt_optional(getattr(a, f"{name}_enc"), context=context)


ADDRESS_READERS = {
    "id": lambda a, k: a.id,
    "customer_id": lambda a, k: a.customer_id,
    **{name: _decrypted(name) for name in ENCRYPTED},
    **{name: (lambda n: lambda a, k: getattr(a, n))(name) for name in PLAIN},
    "created_at": lambda a, k: a.created_at,
    "updated_at": lambda a, k: a.updated_at,
}


def write_address(address: ShippingAddress, keys: Keys, changes: dict) -> list[str]:
    """Write plaintext address values onto the row, encrypting the personal ones."""
    for name, value in changes.items():
        if name in ENCRYPTED:
            setattr(address, f"{name}_enc",
                    keys.cipher.encrypt_optional(value, context=f"shipping_address.{name}"))
        else:
            setattr(address, name, value)
    return sorted(changes)
