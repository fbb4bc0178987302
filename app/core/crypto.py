"""Field encryption (AES-256-GCM with key ids), the email blind index and pseudonyms."""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.config import Settings
from app.core.errors import AppError

NONCE_BYTES = 12


class DecryptionFailed(AppError, ValueError):
    """A stored value could not be decrypted with any configured key, or not for this row."""

    status, code, title = 500, "stored_value_unreadable", "Stored value unreadable"


def bound_to(context: str, row_id: str) -> str:
    """The associated data of a field value: its table.column and the id of its row."""
    return f"{context}:{row_id}"


class FieldCipher:
    """Encrypts single field values; the key id travels with each ciphertext so keys can rotate."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"encryption key {key_id!r} must be 32 bytes (AES-256)")
            if "." in key_id:
                raise ValueError(f"encryption key id {key_id!r} must not contain '.'")
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active_key_id

    def seal(self, plaintext: str, associated_data: str) -> str:
        """Encrypt `plaintext` with the active key, authenticating `associated_data`."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self._active].encrypt(nonce, plaintext.encode(),
                                                  associated_data.encode())
        return f"{self._active}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, associated_data: str) -> str:
        """Decrypt a value written by `seal` with the same associated data."""
        key_id, _, payload = token.partition(".")
        aead = self._aead.get(key_id)
        if aead is None:
            raise DecryptionFailed(f"unknown key id {key_id!r}")
        try:
            raw = base64.urlsafe_b64decode(payload)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                associated_data.encode()).decode()
        except Exception as exc:
            raise DecryptionFailed("A stored value does not verify for this record.") from exc

    def encrypt(self, plaintext: str, *, context: str, row_id: str) -> str:
        """Encrypt `plaintext`, bound to its column (`context`, table.column) and its row, so a
        copy onto another row or column does not decrypt."""
        return self.seal(plaintext, bound_to(context, row_id))

    def decrypt(self, token: str, *, context: str, row_id: str) -> str:
        """Decrypt a value written by `encrypt` for the same column and row."""
        return self.open(token, bound_to(context, row_id))

    def encrypt_optional(self, plaintext: str | None, *, context: str, row_id: str
                         ) -> str | None:
        """Encrypt unless the value is absent."""
        return None if plaintext is None else self.encrypt(plaintext, context=context,
                                                            row_id=row_id)

    def decrypt_optional(self, token: str | None, *, context: str, row_id: str) -> str | None:
        """Decrypt unless the value is absent."""
        return None if token is None else self.decrypt(token, context=context, row_id=row_id)


def _keyed_hash(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keys:
    """The secrets personal data is protected with."""

    cipher: FieldCipher
    blind_index_key: bytes
    pseudonym_key: bytes
    audit_key: bytes

    def email_index(self, email: str) -> str:
        """Keyed blind index of an email address, case-insensitive."""
        return _keyed_hash(self.blind_index_key, email.strip().casefold())

    def code_hash(self, request_id: str, code: str) -> str:
        """Keyed hash of a one-time verification code, bound to its request."""
        return _keyed_hash(self.blind_index_key, f"verification:{request_id}:{code}")

    def customer_key(self, customer_id: str) -> str:
        """Pseudonymous, stable customer key for fraud analysis."""
        return _keyed_hash(self.pseudonym_key, f"customer:{customer_id}")[:32]


def keys_from_settings(settings: Settings) -> Keys:
    """Build the key material from resolved settings."""
    active, blind, pseudonym, audit = (settings.encryption_active_key_id,
                                       settings.blind_index_key, settings.pseudonym_key,
                                       settings.audit_key)
    assert active is not None and blind is not None and pseudonym is not None  # resolved
    assert audit is not None
    cipher = FieldCipher(
        {kid: base64.b64decode(key.get_secret_value())
         for kid, key in settings.encryption_keys.items()},
        active,
    )
    return Keys(
        cipher=cipher,
        blind_index_key=blind.get_secret_value().encode(),
        pseudonym_key=pseudonym.get_secret_value().encode(),
        audit_key=audit.get_secret_value().encode(),
    )
