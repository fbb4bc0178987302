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


def entry_mac(key: bytes, values: Mapping[Any, Any]) -> str:
    """HMAC-SHA256 over the canonical JSON of an entry's recorded columns."""
    return hmac.digest(key, b"entry:" + _canonical(values), "sha256").hex()


def mac_ok(key: bytes, values: Mapping[Any, Any], mac: str | None) -> bool:
    """Whether `mac` authenticates the entry's recorded columns."""
    return mac is not None and hmac.compare_digest(entry_mac(key, values), mac)


def link(key: bytes, previous_hash: str, this_entry_mac: str) -> str:
    """The chain hash of an entry: its MAC bound to everything before it, under the key."""
    return hmac.digest(key, f"chain:{previous_hash}{this_entry_mac}".encode(), "sha256").hex()


def legacy_entry_hash(values: Mapping[Any, Any]) -> str:
    """The unkeyed SHA-256 entry hash written before migration 0008 (for its downgrade)."""
    return hashlib.sha256(_canonical(values)).hexdigest()
