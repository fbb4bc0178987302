"""Migrations build the models' exact schema from empty and take it all down again."""

import asyncio
import os
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, bindparam, inspect, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.hashing import GENESIS_HASH
from app.audit.models import AuditChainHead, AuditEntry
from app.audit.partitions import include_name, is_partition
from app.core.config import async_database_url
from app.core.db import UTCDateTime
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


async def _legacy_trail(url: str) -> list[str]:
    """Three sealed entries as release 0003 wrote them (unkeyed SHA-256 hashes)."""
    from app.audit.hashing import legacy_entry_hash

    engine = create_async_engine(url)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    try:
        async with engine.begin() as connection:
            for seq, entry_id in enumerate(ids, start=1):
                values = {"id": entry_id, "occurred_at": datetime(2026, 10, seq, tzinfo=UTC),
                          "actor_id": "agent-1", "actor_role": "support_agent",
                          "purpose": "service", "action": "read", "subject_id": "c-1",
                          "resource": "customer", "resource_id": "c-1", "fields": ["name"],
                          "request_id": f"r-{seq}"}
                await connection.execute(text(
                    "INSERT INTO audit_entry (id, occurred_at, actor_id, actor_role, purpose, "
                    "action, subject_id, resource, resource_id, fields, request_id, entry_hash, "
                    "seq, chain_hash) VALUES (:id, :occurred_at, :actor_id, :actor_role, "
                    ":purpose, :action, :subject_id, :resource, :resource_id, :fields, "
                    ":request_id, :entry_hash, :seq, :chain_hash)").bindparams(
                        bindparam("occurred_at", type_=UTCDateTime()),
                        bindparam("fields", type_=JSON())),
                    values | {"entry_hash": legacy_entry_hash(values), "seq": seq,
                              "chain_hash": "c" * 64})
            await connection.execute(text(
                "UPDATE audit_chain_head SET last_seq = 3, last_hash = :h"), {"h": "c" * 64})
    finally:
        await engine.dispose()
    return ids


async def _keyed_state(url: str) -> tuple[list, tuple]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(AuditEntry).order_by(AuditEntry.occurred_at))).all()
            head = (await connection.execute(
                select(AuditChainHead.last_seq, AuditChainHead.last_hash))).one()
        return rows, tuple(head)
    finally:
        await engine.dispose()


def _keeps_the_trail(url: str, tmp_path, monkeypatch) -> None:
    from app.audit.hashing import HASHED_COLUMNS, mac_ok

    upgrade(url, "0003")
    ids = asyncio.run(_legacy_trail(url))
    monkeypatch.setenv("PRIVACY_AUDIT_KEY", "migration-test-key")
    monkeypatch.setenv("PRIVACY_DATA_DIR", str(tmp_path / "data"))
    upgrade(url)
    rows, head = asyncio.run(_keyed_state(url))
    assert [row.id for row in rows] == ids
    for row in rows:
        values = {c: getattr(row, c) for c in HASHED_COLUMNS}
        assert mac_ok(b"migration-test-key", values, row.entry_mac)
        assert (row.seq, row.chain_hash) == (None, None)
    assert head == (0, GENESIS_HASH)
    downgrade(url, "0003")
    upgrade(url)
    assert [row.id for row in asyncio.run(_keyed_state(url))[0]] == ids
    downgrade(url, "base")


def test_sqlite_upgrade_to_0008_keeps_and_rekeys_the_trail(tmp_path, monkeypatch):
    """Entries survive 0008 (and its downgrade), re-authenticated with the audit key and
    waiting to be sealed into the keyed chain."""
    _keeps_the_trail(f"sqlite+aiosqlite:///{tmp_path / 'keep.db'}", tmp_path, monkeypatch)


def test_postgres_upgrade_to_0008_keeps_and_rekeys_the_trail(postgres_scratch_url, tmp_path,
                                                              monkeypatch):
    """The same on PostgreSQL, where the table becomes partitioned by month."""
    _keeps_the_trail(postgres_scratch_url, tmp_path, monkeypatch)
