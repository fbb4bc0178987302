"""`privacy-api audit ...` and `privacy-api db grant`: verify, checkpoint, archive, partitions,
the checkpoint public key, and the app role's least privileges."""

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime

from app.core.config import resolved_settings


async def _with_engine(work, *, plain: bool = False):
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.db import create_engine

    settings = resolved_settings()
    assert settings.database_url is not None  # filled by the settings' validator
    # A plain engine for long reads: on SQLite the service's engine would hold the write lock
    # (BEGIN IMMEDIATE) for the whole walk and stall every request meanwhile.
    engine = create_async_engine(settings.database_url) if plain else create_engine(settings)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


async def _seal(engine) -> int:
    from app.audit.sealer import seal_pending
    from app.core.db import session_factory

    audit_key = resolved_settings().audit_key
    assert audit_key is not None  # resolved by `resolve_secrets`
    return await seal_pending(session_factory(engine), key=audit_key.get_secret_value().encode())


def _progress(checked: int, seq: int) -> None:
    print(f"\rverified {checked} entries (seq {seq})", end="", file=sys.stderr, flush=True)


def _verify(args: argparse.Namespace) -> int:
    from app.audit.anchoring import anchor_from_settings
    from app.audit.verify import verify
    from app.core.migrations import current_revision

    anchor = anchor_from_settings(resolved_settings())
    if asyncio.run(_with_engine(current_revision, plain=True)) is None:
        print("audit chain intact: 0 entries (no schema yet: `privacy-api migrate` creates it)")
        return 0

    async def check(engine):
        async with engine.connect() as connection:
            return await verify(connection, anchor.trust, full=args.full,
                                on_progress=_progress)

    sealed = 0 if args.no_seal else asyncio.run(_with_engine(_seal))
    report = asyncio.run(_with_engine(check, plain=True))
    print(file=sys.stderr)
    if sealed:
        print(f"sealed {sealed} new entries")
    if not report.ok:
        more = f" (and {report.omitted} more)" if report.omitted else ""
        count = len(report.findings)
        print(f"audit trail BROKEN: {count} finding{'s' if count > 1 else ''}{more}",
              file=sys.stderr)
        for finding in report.findings:
            print(f"  {finding.kind}: {finding.message}", file=sys.stderr)
        return 1
    walked = "every entry" if args.full or report.checkpoint is None else \
        f"from the checkpoint at seq {report.start_seq}"
    waiting = f"; {report.unsealed} not yet sealed" if report.unsealed else ""
    print(f"audit chain intact: {report.checked} entries checked ({walked}, head at seq "
          f"{report.head_seq}{waiting})")
    if report.checkpoint is None:
        print("no checkpoint yet: run `privacy-api audit checkpoint` to anchor the chain")
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    import httpx

    from app.audit.anchoring import CheckpointRefused, anchor_from_settings, write_checkpoint

    settings = resolved_settings()
    anchor = anchor_from_settings(settings)

    async def write(engine):
        await _seal(engine)
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            return await write_checkpoint(engine, anchor, http=http)

    try:
        checkpoint = asyncio.run(_with_engine(write))
    except CheckpointRefused as exc:
        print(f"checkpoint refused: {exc.detail}", file=sys.stderr)
        return 1
    if checkpoint is None:
        print("no new sealed entries since the last checkpoint")
    else:
        print(f"checkpoint written: seq {checkpoint.seq}, chain hash {checkpoint.chain_hash}")
    return 0


def _public_key(args: argparse.Namespace) -> int:
    from app.audit.checkpoints import public_key_text, signing_key

    key = resolved_settings().audit_signing_key
    assert key is not None  # resolved by `resolve_secrets`
    print(public_key_text(signing_key(key.get_secret_value())))
    return 0


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected YYYY-MM") from exc


def _archive(args: argparse.Namespace) -> int:
    from app.audit.archive import ArchiveRefused, archive_before
    from app.audit.checkpoints import signing_key

    settings = resolved_settings()
    directory, key = settings.audit_archive_dir, settings.audit_signing_key
    assert directory is not None and key is not None  # filled by the validator and secrets

    async def run(engine):
        await _seal(engine)
        return await archive_before(
            engine, before=args.before, retention_days=settings.audit_retention_days,
            directory=directory, signer=signing_key(key.get_secret_value()))

    try:
        done = asyncio.run(_with_engine(run))
    except ArchiveRefused as exc:
        print(f"archive refused: {exc.detail}", file=sys.stderr)
        return 1
    for month, count in done:
        print(f"archived {month:%Y-%m}: {count} entries to {settings.audit_archive_dir}")
    if not done:
        print(f"nothing to archive before {args.before:%Y-%m} (retention "
              f"{settings.audit_retention_days} days)")
    return 0


def _on_postgresql() -> bool:
    url = resolved_settings().database_url
    assert url is not None  # filled by the settings' validator
    return url.startswith("postgresql")


def _partitions(args: argparse.Namespace) -> int:
    from app.audit.partitions import ensure_partitions, month_start, months_between, next_month

    if not _on_postgresql():
        print("partitions are a PostgreSQL feature; nothing to do")
        return 0
    today = month_start(datetime.now(UTC).date())
    last = today
    for _ in range(args.ahead):
        last = next_month(last)

    async def run(engine):
        async with engine.begin() as connection:
            return await ensure_partitions(connection, months_between(today, last))

    created = asyncio.run(_with_engine(run, plain=True))
    print(f"created {len(created)} partitions" + "".join(f"\n  {m:%Y-%m}" for m in created))
    return 0


def _grant(args: argparse.Namespace) -> int:
    from app.audit.grants import grant_app_role

    if not _on_postgresql():
        print("error: database roles need PostgreSQL", file=sys.stderr)
        return 2

    async def run(engine):
        async with engine.begin() as connection:
            await grant_app_role(connection, args.app_role)

    asyncio.run(_with_engine(run, plain=True))
    print(f"role {args.app_role}: may append audit entries and set only seq/chain_hash")
    return 0


def add_commands(commands, defaults: dict) -> None:
    """Register the `audit` and `db` command groups (`defaults`: the configuration checks)."""
    audit = commands.add_parser("audit", help="audit trail tools")
    group = audit.add_subparsers(dest="audit_command", required=True)
    verify = group.add_parser("verify", help="seal pending entries, verify the trail")
    verify.add_argument("--no-seal", action="store_true", help="verify only")
    verify.add_argument("--full", action="store_true",
                        help="walk every entry, not only those after the last checkpoint")
    verify.set_defaults(run=_verify, **defaults)
    group.add_parser("checkpoint", help="seal, verify and write a signed checkpoint"
                     ).set_defaults(run=_checkpoint, **defaults)
    group.add_parser("public-key", help="print the key that verifies checkpoints"
                     ).set_defaults(run=_public_key, **defaults)
    archive = group.add_parser("archive", help="export months past retention, then drop them")
    archive.add_argument("--before", type=_month, required=True, help="YYYY-MM (exclusive)")
    archive.set_defaults(run=_archive, **defaults)
    partitions = group.add_parser("partitions", help="create upcoming monthly partitions")
    partitions.add_argument("--ahead", type=int, default=3, help="months after this one")
    partitions.set_defaults(run=_partitions, **defaults)

    db = commands.add_parser("db", help="database administration")
    db_group = db.add_subparsers(dest="db_command", required=True)
    grant = db_group.add_parser("grant", help="create/limit the role the app runs as")
    grant.add_argument("--app-role", required=True,
                       help="the login role the app runs as (created if missing)")
    grant.set_defaults(run=_grant, **defaults)
