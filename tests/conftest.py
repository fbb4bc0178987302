"""Test wiring: a migrated database (SQLite, or PostgreSQL from PRIVACY_TEST_DATABASE_URL),
the app with its lifespan, an httpx client over ASGITransport, and dev tokens.

Each test starts from empty tables: rows are deleted after every test. Tests commit for real
(the app's transaction owner is part of what is tested), so rolling back is not an option.
"""

import base64
import os
import secrets
import shutil
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.audit.hashing import GENESIS_HASH
from app.audit.models import AuditChainHead
from app.core.config import Settings, async_database_url
from app.core.migrations import upgrade
from app.core.security import mint_token
from app.main import create_app
from app.models import Base
from app.policy.roles import Role
from tests.factories import KNOWN_PARTNERS, partner_row

TEST_DATABASE_URL = os.environ.get("PRIVACY_TEST_DATABASE_URL")
# The limiter stays on, with limits no test reaches; tests/api/test_rate_limits.py sets low ones.
RATE_LIMITED = ("reads", "writes", "rights_requests", "code_checks", "complaints")


def _reset_postgres(url: str) -> None:
    import asyncio

    async def reset() -> None:
        engine = create_async_engine(async_database_url(url))
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings with fresh random secrets and a freshly migrated database."""
    data_dir = tmp_path_factory.mktemp("data")
    url = TEST_DATABASE_URL or f"sqlite+aiosqlite:///{data_dir / 'test.db'}"
    if not url.startswith("sqlite"):
        _reset_postgres(url)
    upgrade(async_database_url(url))
    return Settings(
        _env_file=None, environment="development", data_dir=data_dir, database_url=url,
        jwt_secret=secrets.token_urlsafe(32),
        encryption_keys={"test1": base64.b64encode(os.urandom(32)).decode()},
        blind_index_key=secrets.token_urlsafe(32), pseudonym_key=secrets.token_urlsafe(32),
        audit_key=secrets.token_urlsafe(32),
        audit_signing_key=base64.b64encode(os.urandom(32)).decode(),
        **{f"rate_limit_{kind}": "100000/minute" for kind in RATE_LIMITED},
    )


@pytest.fixture(scope="session")
async def app(settings):
    """The app with its lifespan running (background sealing off: tests seal explicitly)."""
    application = create_app(settings, background_tasks=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def _clean_tables(app) -> AsyncIterator[None]:
    yield
    resolved = app.state.settings
    resolved.audit_checkpoint_file.unlink(missing_ok=True)
    shutil.rmtree(resolved.audit_archive_dir, ignore_errors=True)
    async with app.state.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "policy_version":  # keep version 1, seeded by the migration
                await connection.execute(delete(table).where(table.c.version != 1))
            else:
                await connection.execute(delete(table))
        await connection.execute(insert(AuditChainHead).values(
            id=1, last_seq=0, last_hash=GENESIS_HASH))


@pytest.fixture(autouse=True)
async def _known_partners(app, _clean_tables) -> None:
    """The partners the tests' tokens and orders name, registered and active."""
    async with app.state.sessions() as db, db.begin():
        for partner_id, kind in KNOWN_PARTNERS.items():
            db.add(partner_row(app.state.keys, partner_id=partner_id, kind=kind))


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session")
async def inspection_engine(settings):
    """A plain engine for looking at what was stored; it takes no write locks."""
    engine = create_async_engine(async_database_url(settings.database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(inspection_engine) -> AsyncIterator[AsyncSession]:
    """A database session for looking at what was stored."""
    async with AsyncSession(inspection_engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def deliver_mail(app, tmp_path):
    """Deliver the outbox to a mail folder, as the background task would."""
    from app.outbox.dispatcher import deliver_pending
    from app.outbox.mailer import FolderSender

    async def deliver():
        return await deliver_pending(app.state.sessions, app.state.keys,
                                     FolderSender(tmp_path / "mail"), max_attempts=3)

    return deliver


@pytest.fixture
def token(settings):
    """Mint a dev token: token(Role.STOREFRONT, sub="storefront-1")."""

    def mint(role: Role | str, sub: str = "actor-1", partner_id: str | None = None,
             signed_in_customer: str | None = None) -> str:
        return mint_token(settings, role=Role(role), sub=sub, partner_id=partner_id,
                          signed_in_customer=signed_in_customer)

    return mint


@pytest.fixture
def auth(token):
    """Headers for a role and purpose: auth(Role.SUPPORT_AGENT, purpose="service")."""

    def headers(role: Role | str, *, sub: str = "actor-1", partner_id: str | None = None,
                purpose: str | None = None) -> dict[str, str]:
        result = {"Authorization": f"Bearer {token(role, sub, partner_id)}"}
        if purpose:
            result["X-Purpose"] = purpose
        return result

    return headers
