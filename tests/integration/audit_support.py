"""Helpers shared by the audit tests: entries through the API or straight into the table,
sealing, checkpoints, verification, and the CLI in a subprocess."""

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select

import app as app_package
from app.audit.anchoring import anchor_from_settings, write_checkpoint
from app.audit.chain import seal
from app.audit.models import AuditEntry
from app.audit.repository import _entry
from app.audit.sealer import seal_pending
from app.audit.verify import Report, verify
from app.core.security import Actor
from app.policy.roles import Role
from tests.factories import create_customer

PROJECT_ROOT = Path(app_package.__file__).resolve().parents[1]
ENTRY = AuditEntry.__table__


def audit_key(app) -> bytes:
    """The app's audit key."""
    return app.state.keys.audit_key


async def customer_with_reads(client, auth, reads: int) -> str:
    """Create a customer and read it `reads` times: 1 + reads audit entries."""
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    for _ in range(reads):
        response = await client.get(f"/v1/customers/{customer_id}",
                                    headers=auth(Role.SUPPORT_AGENT, purpose="service"))
        assert response.status_code == 200
    return customer_id


def entry_values(app, *, at: datetime, actor_id: str = "agent-1",
                 role: str = "support_agent", purpose: str | None = "service",
                 action: str = "read", subject_id: str | None = "subject-1",
                 resource: str = "customer", resource_id: str | None = None,
                 fields: tuple[str, ...] = ("name",)) -> dict:
    """One entry's row, authenticated with the app's key, as the app would write it."""
    actor = Actor(sub=actor_id, role=Role(role))
    return _entry(actor, key=audit_key(app), action=action, purpose=purpose,
                  subject_id=subject_id, resource=resource, resource_id=resource_id,
                  fields=fields, now=at)


async def insert_rows(app, rows: list[dict]) -> None:
    """Insert entry rows straight into the table."""
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(ENTRY), rows)


async def execute(app, *statements) -> None:
    """Run statements in one transaction, as someone with database access would."""
    async with app.state.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


async def entries(app) -> list[AuditEntry]:
    """Every entry, in chain order, unsealed last."""
    async with app.state.sessions() as session:
        return list((await session.scalars(
            select(AuditEntry).order_by(AuditEntry.seq, AuditEntry.occurred_at,
                                        AuditEntry.id))).all())


async def seal_once(app, batch: int = 2000) -> int:
    """One sealing batch."""
    async with app.state.sessions() as session, session.begin():
        return await seal(session, key=audit_key(app), batch=batch)


async def seal_all(app) -> int:
    """Seal everything pending."""
    return await seal_pending(app.state.sessions, key=audit_key(app))


async def checkpoint(app):
    """Write a signed checkpoint of the current head."""
    return await write_checkpoint(app.state.engine, anchor_from_settings(app.state.settings))


async def report(app, *, full: bool = False) -> Report:
    """Verify the trail, as `audit verify` does."""
    async with app.state.engine.connect() as connection:
        return await verify(connection, anchor_from_settings(app.state.settings).trust,
                            full=full)


def kinds(result: Report) -> list[str]:
    """The kinds of the findings, in order."""
    return [f.kind for f in result.findings]


def messages(result: Report) -> str:
    """Every finding's message, one per line."""
    return "\n".join(f.message for f in result.findings)


async def cli(settings, *args: str) -> tuple[int, str, str]:
    """Run `privacy-api ARGS` in a subprocess against the test database and data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_")}
    env |= {"PRIVACY_DATABASE_URL": settings.database_url,
            "PRIVACY_DATA_DIR": str(settings.data_dir)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", *args, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()
