"""Least privilege on PostgreSQL: the app role appends audit entries and seals them, but
cannot change what they record or remove them."""

import os
import uuid

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.audit.chain import seal
from app.audit.grants import grant_app_role, grant_statements
from app.audit.models import AuditEntry
from app.core.db import utcnow
from tests.integration.audit_support import audit_key, cli, entry_values, insert_rows

pytestmark = pytest.mark.skipif(
    not (os.environ.get("PRIVACY_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="database roles and column grants need PostgreSQL (set PRIVACY_TEST_DATABASE_URL)")


@pytest.fixture
async def app_role(app):
    """A fresh role with the app's grants, dropped afterwards."""
    role = f"privacy_app_{uuid.uuid4().hex[:8]}"
    async with app.state.engine.begin() as connection:
        await grant_app_role(connection, role)
    yield role
    async with app.state.engine.begin() as connection:
        await connection.execute(text(f"DROP OWNED BY {role}"))
        await connection.execute(text(f"DROP ROLE {role}"))


@pytest.fixture
async def unpooled(settings):
    """An engine whose connections close on release, so a SET ROLE never leaks."""
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def _as(engine, role: str, statement: str) -> None:
    async with engine.connect() as connection:
        await connection.execute(text(f"SET ROLE {role}"))
        try:
            await connection.execute(text(statement))
        finally:
            await connection.rollback()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET purpose = 'fraud'",
    "UPDATE audit_entry SET fields = '[]', entry_mac = 'x'",
    "UPDATE audit_entry SET occurred_at = now()",
    "DELETE FROM audit_entry",
    "TRUNCATE audit_entry",
    "SELECT * FROM audit_entry_default",
    "UPDATE audit_chain_head SET id = 2",
    "DELETE FROM audit_chain_head",
    "DROP TABLE audit_entry",
])
async def test_the_app_role_is_refused_changing_or_removing_entries(app, app_role, unpooled,
                                                                    statement):
    """Content updates, deletes, truncation and direct partition access are refused."""
    await insert_rows(app, [entry_values(app, at=utcnow())])
    with pytest.raises(DBAPIError) as refused:
        await _as(unpooled, app_role, statement)
    assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)


async def test_the_app_role_writes_and_seals_entries(app, app_role, unpooled):
    """Appending and sealing (seq, chain_hash and the head) are all it needs."""
    async with unpooled.connect() as connection:
        await connection.execute(text(f"SET ROLE {app_role}"))
        await connection.commit()
        async with AsyncSession(bind=connection) as session:
            rows = [entry_values(app, at=utcnow()) for _ in range(3)]
            await session.execute(insert(AuditEntry), rows)
            assert await seal(session, key=audit_key(app)) == 3
            await session.commit()
        sealed = await connection.scalar(text("SELECT count(*) FROM audit_entry "
                                              "WHERE seq IS NOT NULL"))
    assert sealed == 3


async def test_db_grant_command_sets_column_privileges(app, settings):
    """`privacy-api db grant --app-role R` creates R with exactly these rights."""
    role = f"privacy_app_{uuid.uuid4().hex[:8]}"
    try:
        code, out, err = await cli(settings, "db", "grant", "--app-role", role)
        assert code == 0, err
        assert role in out
        async with app.state.engine.connect() as connection:
            checks = {
                check: await connection.scalar(text(f"SELECT {check}"))
                for check in (
                    f"has_table_privilege('{role}', 'audit_entry', 'INSERT')",
                    f"has_column_privilege('{role}', 'audit_entry', 'seq', 'UPDATE')",
                    f"has_column_privilege('{role}', 'audit_entry', 'chain_hash', 'UPDATE')",
                    f"has_column_privilege('{role}', 'audit_entry', 'purpose', 'UPDATE')",
                    f"has_table_privilege('{role}', 'audit_entry', 'DELETE')",
                    f"has_table_privilege('{role}', 'customer', 'DELETE')",
                )}
        assert list(checks.values()) == [True, True, True, False, False, True]
    finally:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(f"DROP OWNED BY {role}"))
            await connection.execute(text(f"DROP ROLE IF EXISTS {role}"))


def test_role_names_are_checked_before_they_reach_sql():
    """Only plain lower-case names are accepted."""
    with pytest.raises(ValueError):
        grant_statements("app; DROP TABLE customer")
