"""Field encryption with key ids, the email blind index and the pseudonymous customer key."""

import base64
import os

import pytest

from app.core.config import Settings
from app.core.crypto import DecryptionFailed, FieldCipher, Keys, keys_from_settings

CONTEXT, ROW = "customer.name", "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d"


def _key() -> bytes:
    return os.urandom(32)


def _keys(*, blind: bytes = b"blind-index-key", pseudonym: bytes = b"pseudonym-key") -> Keys:
    return Keys(cipher=FieldCipher({"k1": _key()}, "k1"), blind_index_key=blind,
                pseudonym_key=pseudonym, audit_key=b"audit-key")


def _tamper(token: str) -> str:
    key_id, _, payload = token.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 0x01
    return f"{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"


def test_round_trip_returns_the_plaintext():
    """A value encrypted under a context decrypts to itself under that context."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    for value in ("Mei Lin", "", "Zoë Ångström 李梅", "x" * 5000):
        token = cipher.encrypt(value, context=CONTEXT, row_id=ROW)
        assert value not in token or value == ""
        assert cipher.decrypt(token, context=CONTEXT, row_id=ROW) == value


def test_ciphertext_differs_every_time():
    """The random nonce makes two encryptions of one value differ."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    tokens = {cipher.encrypt("Mei Lin", context=CONTEXT, row_id=ROW) for _ in range(20)}
    assert len(tokens) == 20
    assert all(cipher.decrypt(t, context=CONTEXT, row_id=ROW) == "Mei Lin" for t in tokens)


def test_value_does_not_decrypt_under_another_context():
    """A ciphertext moved to another column fails to decrypt."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    token = cipher.encrypt("Mei Lin", context="customer.name", row_id=ROW)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, context="customer.email", row_id=ROW)


def test_value_does_not_decrypt_for_another_row():
    """A ciphertext copied onto another row of the same column fails to decrypt."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    token = cipher.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, context=CONTEXT, row_id="another-customer")
    with pytest.raises(DecryptionFailed):  # nor where the row id runs into the context
        cipher.decrypt(token, context=f"{CONTEXT}:{ROW}", row_id="")


def test_tampered_ciphertext_fails():
    """Flipping one bit of the sealed value is detected."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    token = cipher.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(_tamper(token), context=CONTEXT, row_id=ROW)


def test_truncated_ciphertext_fails_as_decryption_failed():
    """A cut-off stored value raises DecryptionFailed, not a decoding error."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    token = cipher.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    for broken in (token[:-1], token[:-5], "k1.", "k1.AAAA"):
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(broken, context=CONTEXT, row_id=ROW)


def test_value_under_another_key_fails():
    """A ciphertext does not decrypt with a different key under the same key id."""
    token = FieldCipher({"k1": _key()}, "k1").encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    with pytest.raises(DecryptionFailed):
        FieldCipher({"k1": _key()}, "k1").decrypt(token, context=CONTEXT, row_id=ROW)


def test_key_rotation_keeps_old_values_readable_and_writes_with_the_new_key():
    """After rotating to "new", values under "old" still decrypt; new writes carry "new"."""
    old_key, new_key = _key(), _key()
    before = FieldCipher({"old": old_key}, "old")
    old_token = before.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    assert old_token.startswith("old.")

    after = FieldCipher({"old": old_key, "new": new_key}, "new")
    assert after.decrypt(old_token, context=CONTEXT, row_id=ROW) == "Mei Lin"
    new_token = after.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    assert new_token.startswith("new.")
    assert after.decrypt(new_token, context=CONTEXT, row_id=ROW) == "Mei Lin"
    with pytest.raises(DecryptionFailed):
        before.decrypt(new_token, context=CONTEXT, row_id=ROW)


def test_retired_key_id_is_reported_as_unknown():
    """Once the old key is removed its values fail with DecryptionFailed."""
    token = FieldCipher({"old": _key()}, "old").encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    with pytest.raises(DecryptionFailed, match="old"):
        FieldCipher({"new": _key()}, "new").decrypt(token, context=CONTEXT, row_id=ROW)


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
def test_wrong_key_length_is_rejected(length):
    """Only 32-byte (AES-256) keys are accepted."""
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher({"k1": os.urandom(length)}, "k1")


def test_key_id_with_a_dot_is_rejected():
    """The key id separator cannot appear inside a key id."""
    with pytest.raises(ValueError):
        FieldCipher({"k.1": _key()}, "k.1")


def test_optional_helpers_pass_none_through():
    """Absent values stay absent; present ones round-trip."""
    cipher = FieldCipher({"k1": _key()}, "k1")
    assert cipher.encrypt_optional(None, context=CONTEXT, row_id=ROW) is None
    assert cipher.decrypt_optional(None, context=CONTEXT, row_id=ROW) is None
    token = cipher.encrypt_optional("x", context=CONTEXT, row_id=ROW)
    assert cipher.decrypt_optional(token, context=CONTEXT, row_id=ROW) == "x"


def test_blind_index_is_case_insensitive():
    """Case and surrounding spaces do not change the email index."""
    keys = _keys()
    index = keys.email_index("Mei.Lin@Example.COM")
    assert keys.email_index("mei.lin@example.com") == index
    assert keys.email_index("  MEI.LIN@EXAMPLE.COM ") == index
    assert keys.email_index("mei.lin2@example.com") != index
    assert "mei" not in index.lower() and "example" not in index.lower()
    assert len(index) == 64


def test_blind_index_is_keyed():
    """A different blind-index key gives a different index for the same email."""
    email = "mei.lin@example.com"
    assert _keys(blind=b"key-a").email_index(email) == _keys(blind=b"key-a").email_index(email)
    assert _keys(blind=b"key-a").email_index(email) != _keys(blind=b"key-b").email_index(email)


def test_customer_key_is_stable_and_keyed():
    """The pseudonym is the same every time for one key, and changes with the key."""
    customer_id = "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d"
    first = _keys(pseudonym=b"p1").customer_key(customer_id)
    assert _keys(pseudonym=b"p1").customer_key(customer_id) == first
    assert _keys(pseudonym=b"p2").customer_key(customer_id) != first
    assert _keys(pseudonym=b"p1").customer_key("another-customer") != first
    assert customer_id not in first
    assert len(first) == 32


def test_customer_key_differs_from_blind_index_under_the_same_secret():
    """The pseudonym is domain-separated from other keyed hashes of the same input."""
    keys = _keys(blind=b"same", pseudonym=b"same")
    assert keys.customer_key("c-1") != keys.email_index("c-1")[:32]


def test_keys_from_settings_use_the_active_key():
    """Settings' base64 keys become a cipher that writes with the active key id."""
    old, new = _key(), _key()
    settings = Settings(
        _env_file=None,
        encryption_keys={"a1": base64.b64encode(old).decode(),
                         "a2": base64.b64encode(new).decode()},
        encryption_active_key_id="a2", blind_index_key="b", pseudonym_key="p",
        audit_key="a",
    )
    keys = keys_from_settings(settings)
    token = keys.cipher.encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    assert token.startswith("a2.")
    legacy = FieldCipher({"a1": old}, "a1").encrypt("Mei Lin", context=CONTEXT, row_id=ROW)
    assert keys.cipher.decrypt(legacy, context=CONTEXT, row_id=ROW) == "Mei Lin"
    assert keys.email_index("X@Y.Z") == _keys(blind=b"b").email_index("x@y.z")
    assert keys.audit_key == b"a"
