"""How entries are authenticated and linked; shared by the writer, the sealer and the verifier.

Both the entry MAC and the chain link are HMAC-SHA256 under the audit key, which lives in the
app's settings and never in the database: someone who can write the table can neither make an
entry that authenticates nor recompute the chain after changing one.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

GENESIS_HASH = "0" * 64
_encoder = json.JSONEncoder(separators=(",", ":"))
HASHED_COLUMNS = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action",
                  "subject_id", "resource", "resource_id", "fields", "request_id")


def _canonical(values: Mapping[Any, Any]) -> bytes:
    canonical = [values[c] for c in HASHED_COLUMNS]
    if isinstance(canonical[1], datetime):  # occurred_at; archived entries hold the text
        canonical[1] = canonical[1].isoformat()
    return _encoder.encode(canonical).encode()


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> "hmac.HMAC":
    """HMAC-SHA256 keyed once per key: each MAC copies it instead of fetching the digest by
    name and scheduling the key again (20 us a call in a busy server against 2-7 us)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _hmac(key: bytes, message: bytes) -> str:
    mac = _keyed(key).copy()
    mac.update(message)
    return mac.hexdigest()


def entry_mac(key: bytes, values: Mapping[Any, Any]) -> str:
    """HMAC-SHA256 over the canonical JSON of an entry's recorded columns."""
    return _hmac(key, b"entry:" + _canonical(values))


def mac_ok(key: bytes, values: Mapping[Any, Any], mac: str | None) -> bool:
    """Whether `mac` authenticates the entry's recorded columns."""
    return mac is not None and hmac.compare_digest(entry_mac(key, values), mac)


def link(key: bytes, previous_hash: str, this_entry_mac: str) -> str:
    """The chain hash of an entry: its MAC bound to everything before it, under the key."""
    return _hmac(key, f"chain:{previous_hash}{this_entry_mac}".encode())


def legacy_entry_hash(values: Mapping[Any, Any]) -> str:
    """The unkeyed SHA-256 entry hash written before migration 0008 (for its downgrade)."""
    return hashlib.sha256(_canonical(values)).hexdigest()
