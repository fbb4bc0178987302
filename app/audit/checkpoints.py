"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint is one JSON line `{"seq", "chain_hash", "at", "signature"}` signed with Ed25519.
Lines are appended to a file (and optionally POSTed to a URL); someone who controls only the
database can neither rewrite nor forge them, so a rewound head, a truncated tail or a wiped
table shows up against the last checkpoint.
"""

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Checkpoint:
    """The chain as it stood at `at`: entries 1..seq, the last one with `chain_hash`."""

    seq: int
    chain_hash: str
    at: datetime
    line: int = 0

    def payload(self) -> bytes:
        """The signed bytes."""
        return json.dumps([self.seq, self.chain_hash, self.at.isoformat()],
                          separators=(",", ":")).encode()


@dataclass(frozen=True)
class BadCheckpoint:
    """A line of the checkpoint file that is not a checkpoint signed with our key."""

    line: int
    reason: str


def signing_key(encoded: str) -> Ed25519PrivateKey:
    """The Ed25519 key from its base64 32-byte seed (the setting's format)."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The base64 raw public key that verifies checkpoints signed with `key`."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def to_json(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> dict:
    """The signed JSON object of a checkpoint."""
    return {"seq": checkpoint.seq, "chain_hash": checkpoint.chain_hash,
            "at": checkpoint.at.isoformat(),
            "signature": base64.b64encode(key.sign(checkpoint.payload())).decode()}


def parse(text: str, public: Ed25519PublicKey, *, line: int = 0) -> Checkpoint | BadCheckpoint:
    """A checkpoint line, checked against the public key."""
    try:
        record = json.loads(text)
        checkpoint = Checkpoint(int(record["seq"]), str(record["chain_hash"]),
                                datetime.fromisoformat(record["at"]), line)
        public.verify(base64.b64decode(record["signature"]), checkpoint.payload())
    except InvalidSignature:
        return BadCheckpoint(line, "its signature does not verify")
    except (ValueError, KeyError, TypeError):
        return BadCheckpoint(line, "it is not a checkpoint")
    return checkpoint


def append(path: Path, record: dict) -> None:
    """Append one line and make it durable before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_all(path: Path, public: Ed25519PublicKey) -> Iterator[Checkpoint | BadCheckpoint]:
    """Every line of the file in order, streamed."""
    if not path.exists():
        return
    with open(path) as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield parse(text, public, line=number)


def latest(path: Path, public: Ed25519PublicKey) -> tuple[Checkpoint | None,
                                                          list[BadCheckpoint]]:
    """The newest well-signed checkpoint (read from the file's end) and bad lines after it."""
    if not path.exists():
        return None, []
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - TAIL_BYTES)
        handle.seek(start)
        tail = handle.read().decode()
    lines = tail.splitlines()
    if start:
        lines = lines[1:]  # the first one may be cut
    bad: list[BadCheckpoint] = []
    for text in reversed(lines):
        if not text.strip():
            continue
        found = parse(text, public)
        if isinstance(found, Checkpoint):
            return found, bad
        bad.append(found)
    if start:  # no good line in the tail: fall back to the whole file
        good = None
        for found in read_all(path, public):
            good = found if isinstance(found, Checkpoint) else good
        return good, bad
    return None, bad
