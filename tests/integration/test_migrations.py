"""Migrations build the models' exact schema from empty and take it all down again."""

import asyncio
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.hashing import GENESIS_HASH
from app.audit.models import AuditChainHead
from app.audit.partitions import include_name, is_partition
from app.core.config import async_database_url
from app.core.migrations import current_revision, downgrade, head_revision, upgrade
from app.models import Base

TEST_DATABASE_URL = os.environ.get("PRIVACY_TEST_DATABASE_URL")
MODEL_TABLES = set(Base.metadata.tables)


def _compare(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True,
                          "target_metadata": Base.metadata, "include_name": include_name})
    return compare_metadata(context, Base.metadata)


async def _inspect(url: str) -> dict:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            tables = {name for name in await connection.run_sync(
                lambda c: inspect(c).get_table_names()) if not is_partition(name)}
            drift = await connection.run_sync(_compare) if tables >= MODEL_TABLES else None
            head = None
            if "audit_chain_head" in tables:
                head = (await connection.execute(
                    select(AuditChainHead.last_seq, AuditChainHead.last_hash))).all()
        return {"tables": tables, "drift": drift, "head": head,
                "revision": await current_revision(engine)}
    finally:
        await engine.dispose()


def _round_trip(url: str) -> None:
    assert asyncio.run(_inspect(url))["tables"] <= {"alembic_version"}

    upgrade(url)
    migrated = asyncio.run(_inspect(url))
    assert migrated["tables"] == MODEL_TABLES | {"alembic_version"}
    assert migrated["drift"] == []
    assert migrated["revision"] == head_revision()
    assert migrated["head"] == [(0, GENESIS_HASH)]

    upgrade(url)
    assert asyncio.run(_inspect(url))["revision"] == head_revision()

    downgrade(url, "base")
    emptied = asyncio.run(_inspect(url))
    assert emptied["tables"] <= {"alembic_version"}
    assert emptied["revision"] is None

    upgrade(url)
    again = asyncio.run(_inspect(url))
    assert again["drift"] == [] and again["revision"] == head_revision()
    downgrade(url, "base")
    assert asyncio.run(_inspect(url))["tables"] <= {"alembic_version"}


def test_sqlite_migrates_up_from_empty_without_drift_and_back_down(tmp_path):
    """On a fresh SQLite file: upgrade gives the models' schema; downgrade removes it."""
    _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")


def test_plain_sqlite_url_is_migrated_through_the_async_driver(tmp_path):
    """A plain sqlite:// URL, as operators write it, migrates too."""
    path = tmp_path / "plain.db"
    upgrade(f"sqlite:///{path}")
    migrated = asyncio.run(_inspect(f"sqlite+aiosqlite:///{path}"))
    assert migrated["tables"] == MODEL_TABLES | {"alembic_version"}
    downgrade(f"sqlite:///{path}", "base")


async def _admin(url, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def postgres_scratch_url():
    """The URL of a fresh PostgreSQL database, dropped afterwards (never the test DB)."""
    if not TEST_DATABASE_URL or TEST_DATABASE_URL.startswith("sqlite"):
        pytest.skip("set PRIVACY_TEST_DATABASE_URL to a PostgreSQL URL")
    base = make_url(async_database_url(TEST_DATABASE_URL))
    name = f"privacy_migration_test_{uuid.uuid4().hex[:10]}"
    maintenance = base.set(database="postgres")
    asyncio.run(_admin(maintenance, f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_postgres_migrates_up_from_empty_without_drift_and_back_down(postgres_scratch_url):
    """On a fresh PostgreSQL database: upgrade gives the models' schema; downgrade removes it."""
    _round_trip(postgres_scratch_url)
