"""The `privacy-api` command: serve, run the background work, migrate, mint dev tokens, audit
trail tools (verify, checkpoint, archive), database grants, deliver the outbox, send policy
change notices, run retention."""

import argparse
import asyncio
import json
import logging
import re
import signal
import sys
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version

import httpx
import yaml

from app.audit.commands import add_commands as add_audit_commands
from app.core.config import DEV_SECRETS_FILE, MissingSecrets, get_settings, resolved_settings
from app.core.preflight import ConfigurationError, check, load_settings
from app.observability.logs import configure_logging, logging_config
from app.policy.roles import Role

VERIFICATION_CODE = re.compile(r"request is (\d{6})\b")
logger = logging.getLogger("app.worker")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.migrations import upgrade

    settings = resolved_settings()
    if not args.no_migrate:
        upgrade(settings.database_url)
    # uvloop and httptools (C event loop and HTTP parser); the app logs its own access lines
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers,
                loop="uvloop", http="httptools",
                log_level=settings.log_level.lower(), proxy_headers=True, access_log=False,
                server_header=False,
                log_config=logging_config(level=settings.log_level,
                                          style=settings.log_format))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from app import background
    from app.audit.anchoring import anchor_from_settings
    from app.core.crypto import keys_from_settings
    from app.core.db import create_engine, session_factory

    settings = resolved_settings()

    async def run() -> None:
        stopped = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stopped.set)
        engine = create_engine(settings)
        try:
            async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
                work = asyncio.create_task(background.run(
                    settings, engine=engine, sessions=session_factory(engine),
                    keys=keys_from_settings(settings), http=http,
                    anchor=anchor_from_settings(settings)))
                stop = asyncio.create_task(stopped.wait())
                await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
                for task in (work, stop):
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
        finally:
            await engine.dispose()

    logger.info("worker started: background work only, no HTTP (SIGTERM or Ctrl-C stops it)")
    asyncio.run(run())
    logger.info("worker stopped")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.core.migrations import upgrade

    upgrade(get_settings().database_url, args.revision)
    return 0


def _token(args: argparse.Namespace) -> int:
    from app.core.security import mint_token

    settings = get_settings()
    if settings.jwt_algorithm != "HS256":
        print("error: PRIVACY_JWT_ALGORITHM is RS256: tokens come from the identity provider",
              file=sys.stderr)
        return 2
    if settings.jwt_secret is None and not (settings.data_dir / DEV_SECRETS_FILE).exists():
        print(f"error: no signing secret: {settings.data_dir.resolve() / DEV_SECRETS_FILE} "
              "does not exist. Point PRIVACY_DATA_DIR at the server's data folder (or set "
              "PRIVACY_JWT_SECRET); refusing to create secrets the server does not know.",
              file=sys.stderr)
        return 2
    try:
        token = mint_token(resolved_settings(), role=Role(args.role), sub=args.sub,
                           partner_id=args.partner_id, ttl_seconds=args.ttl,
                           signed_in_customer=args.signed_in_customer)
    except (ValueError, MissingSecrets) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


async def _with_session(work):
    from app.core.db import create_engine, session_factory

    engine = create_engine(get_settings())
    try:
        return await work(session_factory(engine))
    finally:
        await engine.dispose()


def _outbox_run(args: argparse.Namespace) -> int:
    from app.core.crypto import keys_from_settings
    from app.outbox.dispatcher import deliver_pending
    from app.outbox.mailer import sender_from_settings

    if args.batch < 1:
        print("error: --batch must be positive", file=sys.stderr)
        return 2
    settings = resolved_settings()

    def progress(report) -> None:
        print(f"batch: {report.sent} sent, {report.retried} to retry, "
              f"{report.failed} given up")

    async def run(sessions):
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            return await deliver_pending(sessions, keys_from_settings(settings),
                                         sender_from_settings(settings, http=http),
                                         max_attempts=settings.outbox_max_attempts,
                                         batch=args.batch, on_batch=progress)

    report = asyncio.run(_with_session(run))
    print(f"outbox delivered: {report.sent} sent, {report.retried} to retry, "
          f"{report.failed} given up")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.core.crypto import keys_from_settings
    from app.retention import job
    from app.retention.schedule import periods

    if args.batch is not None and args.batch < 1:
        print("error: --batch must be positive", file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError:
        print("error: --now must be an ISO date or time", file=sys.stderr)
        return 2
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    settings = get_settings()

    keys = keys_from_settings(resolved_settings())

    def progress(category, action, rows) -> None:
        print(f"retention {category}: {rows} {action}d so far", file=sys.stderr)

    async def run(sessions):
        return await job.run(sessions, periods(settings), keys=keys, now=now, dry_run=args.dry_run,
                             batch=args.batch or settings.retention_batch_size,
                             progress=progress)

    report = asyncio.run(_with_session(run))
    for result in report.categories:
        verb = "would be " + result.action + "d" if report.dry_run else result.action + "d"
        note = " (busy: another run has it)" if result.busy else ""
        print(f"retention {result.category}: {result.rows} {verb}{note}", file=sys.stderr)
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _webhooks_run(args: argparse.Namespace) -> int:
    import httpx

    from app.core.crypto import keys_from_settings
    from app.partners.dispatcher import deliver_webhooks

    if args.batch < 1:
        print("error: --batch must be positive", file=sys.stderr)
        return 2
    settings = resolved_settings()

    async def run(sessions):
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            return await deliver_webhooks(sessions, keys_from_settings(settings), http,
                                          max_attempts=settings.webhook_max_attempts,
                                          batch=args.batch)

    report = asyncio.run(_with_session(run))
    print(f"partner webhooks: {report.sent} sent, {report.retried} to retry, "
          f"{report.failed} given up")
    return 0


def _disclosures_notify_due(args: argparse.Namespace) -> int:
    from app.core.crypto import keys_from_settings
    from app.disclosures.service import notify_due

    settings = resolved_settings()

    async def run(sessions):
        return await notify_due(sessions, keys_from_settings(settings))

    told = asyncio.run(_with_session(run))
    print(f"legal disclosures: {told} customers told")
    return 0


def _policies_notify(args: argparse.Namespace) -> int:
    from app.core.crypto import keys_from_settings
    from app.policies.errors import PolicyVersionNotFound
    from app.policies.notices import notify
    from app.policies.service import progress

    if args.batch < 1:
        print("error: --batch must be positive", file=sys.stderr)
        return 2
    settings = resolved_settings()
    end = "\r" if sys.stdout.isatty() else "\n"

    def line(report) -> None:
        print(f"version {args.version}: {report.queued} notices queued "
              f"({report.email} email, {report.sms} sms)", end=end, flush=True)

    async def run(sessions):
        report = await notify(sessions, keys_from_settings(settings), version=args.version,
                              rate_per_second=settings.notice_rate_per_second,
                              batch=args.batch, on_batch=line)
        async with sessions() as session, session.begin():
            return report, await progress(session, args.version)

    try:
        report, counts = asyncio.run(_with_session(run))
    except PolicyVersionNotFound as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    if end == "\r":
        print()
    if not counts["significant"]:
        print(f"version {args.version} is not significant: no notices are sent")
        return 0
    print(f"version {args.version}: {report.queued} queued now; in all {counts['queued']} "
          f"queued, {counts['sent']} sent, {counts['pending']} pending, "
          f"{counts['failed']} failed, {counts['remaining']} remaining")
    return 0


def _mail_last_code(args: argparse.Namespace) -> int:
    from email import policy
    from email.parser import BytesParser

    folder = get_settings().mail_dir
    assert folder is not None  # filled by the settings' validator
    mails = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in mails:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(("plain",))
        if body is None:  # not a mail this service wrote
            continue
        found = VERIFICATION_CODE.search(body.get_content())
        if message["Subject"] == "Your verification code" and found:
            print(found.group(1))
            return 0
    print(f"error: no verification code in {folder}", file=sys.stderr)
    return 1


def _openapi(args: argparse.Namespace) -> int:
    from app.main import app

    spec = json.loads(json.dumps(app.openapi()))
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as handle:
            handle.write(text)
    return 0


def _version() -> str:
    try:
        return version("privacy-api")
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-api", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = {"checks": True, "connect": True}

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    serve.add_argument("--no-migrate", action="store_true",
                       help="serve without migrating (when `migrate` runs once beforehand)")
    serve.set_defaults(run=_serve, **defaults)

    worker = commands.add_parser(
        "worker", help="run the background work (audit sealing, outbox, webhooks, retention, "
        "notices) without serving HTTP; pairs with PRIVACY_BACKGROUND_TASKS=off on the servers")
    worker.set_defaults(run=_worker, **defaults)

    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("--revision", default="head", help="migration to upgrade to")
    migrate.set_defaults(run=_migrate, **defaults)

    token = commands.add_parser("token", help="mint a development token (HS256)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role],
                       help="the caller's role")
    token.add_argument("--sub", required=True, help="actor id; a customer's id for customers")
    token.add_argument("--partner-id", help="required for partner roles")
    token.add_argument("--ttl", type=int, help="lifetime in seconds")
    token.add_argument("--signed-in-customer",
                       help="storefront only: the customer signed in to this session")
    token.set_defaults(run=_token, checks=False)

    add_audit_commands(commands, defaults)

    outbox = commands.add_parser("outbox", help="outgoing email tools")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_run = outbox_commands.add_parser("run", help="deliver all pending messages once")
    outbox_run.add_argument("--batch", type=int, default=500, help="messages claimed at a time")
    outbox_run.set_defaults(run=_outbox_run, **defaults)

    mail = commands.add_parser("mail", help="the development mail folder")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True)
    last_code = mail_commands.add_parser(
        "last-code", help="print the newest verification code found in the mail folder")
    last_code.set_defaults(run=_mail_last_code, checks=False)

    policies = commands.add_parser("policies", help="privacy policy versions")
    policies_commands = policies.add_subparsers(dest="policies_command", required=True)
    notify = policies_commands.add_parser(
        "notify", help="queue the change notices of a significant version (resumable)")
    notify.add_argument("version", type=int, help="the significant version to announce")
    notify.add_argument("--batch", type=int, default=500, help="customers per transaction")
    notify.set_defaults(run=_policies_notify, **defaults)

    webhooks = commands.add_parser("webhooks", help="signed notices to partners")
    webhooks_commands = webhooks.add_subparsers(dest="webhooks_command", required=True)
    webhooks_run = webhooks_commands.add_parser("run", help="deliver all pending notices once")
    webhooks_run.add_argument("--batch", type=int, default=50, help="notices claimed at a time")
    webhooks_run.set_defaults(run=_webhooks_run, **defaults)

    disclosures = commands.add_parser("disclosures", help="legal disclosures to authorities")
    disclosures_commands = disclosures.add_subparsers(dest="disclosures_command", required=True)
    notify = disclosures_commands.add_parser(
        "notify-due", help="tell customers of disclosures whose legal bar has ended")
    notify.set_defaults(run=_disclosures_notify_due, **defaults)

    retention = commands.add_parser("retention", help="data retention tools")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    retention_run = retention_commands.add_parser(
        "run", help="delete or anonymize everything whose retention period is over")
    retention_run.add_argument("--dry-run", action="store_true",
                               help="change nothing; report what would go")
    retention_run.add_argument("--now", help="ISO time to count periods from (a fake clock "
                                             "for demos and tests); default: the clock")
    retention_run.add_argument("--batch", type=int, help="rows per transaction")
    retention_run.set_defaults(run=_retention_run, **defaults)

    openapi = commands.add_parser("openapi", help="write the OpenAPI contract as YAML")
    openapi.add_argument("--output", default="openapi.yaml", help="file, or - for stdout")
    openapi.set_defaults(run=_openapi, checks=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `privacy-api` console script.

    Exit codes: 0 done, 1 the command failed (e.g. a broken audit chain), 2 bad usage or
    configuration (one line per problem on stderr, no traceback).
    """
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.checks:
            check(settings, connect=args.connect)
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log_level, style=settings.log_format)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
