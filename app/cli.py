"""The `privacy-api` command: serve, migrate, mint dev tokens, audit trail tools (verify,
checkpoint, archive), database grants, deliver the outbox."""

import argparse
import asyncio
import json
import logging
import sys

import yaml

from app.audit.commands import add_commands as add_audit_commands
from app.core.config import get_settings, resolved_settings
from app.policy.roles import Role


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.migrations import upgrade

    settings = resolved_settings()
    upgrade(settings.database_url)
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers,
                log_level=settings.log_level.lower(), proxy_headers=True)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.core.migrations import upgrade

    upgrade(get_settings().database_url, args.revision)
    return 0


def _token(args: argparse.Namespace) -> int:
    from app.core.security import mint_token

    try:
        token = mint_token(resolved_settings(), role=Role(args.role), sub=args.sub,
                           partner_id=args.partner_id, ttl_seconds=args.ttl,
                           signed_in_customer=args.signed_in_customer)
    except ValueError as exc:
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
        return await deliver_pending(sessions, keys_from_settings(settings),
                                     sender_from_settings(settings),
                                     max_attempts=settings.outbox_max_attempts,
                                     batch=args.batch, on_batch=progress)

    report = asyncio.run(_with_session(run))
    print(f"outbox delivered: {report.sent} sent, {report.retried} to retry, "
          f"{report.failed} given up")
    return 0


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    token = commands.add_parser("token", help="mint a development token (HS256)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--sub", required=True, help="actor id; a customer's id for customers")
    token.add_argument("--partner-id", help="required for partner roles")
    token.add_argument("--ttl", type=int, help="lifetime in seconds")
    token.add_argument("--signed-in-customer",
                       help="storefront only: the customer signed in to this session")
    token.set_defaults(run=_token)

    add_audit_commands(commands)

    outbox = commands.add_parser("outbox", help="outgoing email tools")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_run = outbox_commands.add_parser("run", help="deliver all pending messages once")
    outbox_run.add_argument("--batch", type=int, default=50, help="messages claimed at a time")
    outbox_run.set_defaults(run=_outbox_run)

    openapi = commands.add_parser("openapi", help="write the OpenAPI contract as YAML")
    openapi.add_argument("--output", default="openapi.yaml", help="file, or - for stdout")
    openapi.set_defaults(run=_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `privacy-api` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=get_settings().log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
