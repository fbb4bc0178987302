"""Anchoring the chain outside the database: signed checkpoints, written only for a chain
that verifies, to the checkpoint file and optionally to a URL."""

import fcntl
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.checkpoints import Checkpoint, append, latest, signing_key, to_json
from app.audit.verify import Report, Trust, verify
from app.core.config import Settings
from app.core.errors import AppError

logger = logging.getLogger(__name__)
CHAIN_FINDINGS = {"edited", "missing", "duplicate", "reordered", "rewritten", "rewound",
                  "truncated", "wiped"}


class CheckpointRefused(AppError):
    status, code, title = 409, "audit_checkpoint_refused", "Audit checkpoint refused"


@dataclass(frozen=True)
class Anchor:
    """What writing and checking checkpoints needs."""

    trust: Trust
    signer: Ed25519PrivateKey
    url: str | None = None


def anchor_from_settings(settings: Settings) -> Anchor:
    """The anchor of resolved settings."""
    signing, audit = settings.audit_signing_key, settings.audit_key
    assert signing is not None and audit is not None  # resolved by `resolve_secrets`
    checkpoint_file, archive_dir = settings.audit_checkpoint_file, settings.audit_archive_dir
    assert checkpoint_file is not None and archive_dir is not None  # filled by the validator
    signer = signing_key(signing.get_secret_value())
    trust = Trust(key=audit.get_secret_value().encode(),
                  public_key=signer.public_key(), checkpoint_file=checkpoint_file,
                  archive_dir=archive_dir)
    return Anchor(trust, signer, settings.audit_checkpoint_url)


async def write_checkpoint(engine: AsyncEngine, anchor: Anchor, *,
                           http: httpx.AsyncClient | None = None) -> Checkpoint | None:
    """Verify the chain since the newest checkpoint and, if it holds and has grown, sign its
    head; None when there is nothing new. Raises CheckpointRefused naming what is wrong."""
    async with engine.connect() as connection:
        report: Report = await verify(connection, anchor.trust)
    broken = [f for f in report.findings if f.kind in CHAIN_FINDINGS]
    if broken:
        logger.error("audit checkpoint refused: %s", broken[0].message)
        raise CheckpointRefused(f"the chain does not verify: {broken[0].message}")
    if report.head_hash is None or (report.checkpoint and
                                    report.checkpoint.seq >= report.head_seq):
        return None
    checkpoint = Checkpoint(report.head_seq, report.head_hash, datetime.now(UTC))
    path = anchor.trust.checkpoint_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # replicas sharing the file append in seq order
        newest, _ = latest(path, anchor.trust.public_key)
        if newest and newest.seq >= checkpoint.seq:
            return None
        record = to_json(checkpoint, anchor.signer)
        append(path, record)
    if anchor.url and http is not None:
        try:
            (await http.post(anchor.url, json=record)).raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("audit checkpoint not delivered to the URL: %s", type(exc).__name__)
    return checkpoint
