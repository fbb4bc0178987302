"""How entries are hashed and linked; shared by the writer, the sealer and the verifier."""

import hashlib
import json
from datetime import datetime

GENESIS_HASH = "0" * 64
HASHED_COLUMNS = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action",
                  "subject_id", "resource", "resource_id", "fields", "request_id")


def entry_hash(values: dict) -> str:
    """SHA-256 over the canonical JSON of an entry's recorded columns."""
    canonical = [
        values[c].isoformat() if isinstance(values[c], datetime) else values[c]
        for c in HASHED_COLUMNS
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def link(previous_hash: str, this_entry_hash: str) -> str:
    """The chain hash of an entry: its own hash bound to everything before it."""
    return hashlib.sha256(f"{previous_hash}{this_entry_hash}".encode()).hexdigest()
