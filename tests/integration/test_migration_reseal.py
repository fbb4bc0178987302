"""Migration 0010 re-encrypts stored values bound to their rows, with the configured keys."""

import asyncio
import base64
import json
import os
import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import config
from app.core.config import async_database_url
from app.core.crypto import DecryptionFailed, FieldCipher
from app.core.migrations import downgrade, upgrade
from tests.integration.test_migrations import postgres_scratch_url  # noqa: F401 (fixture)

ALICE, BOB = "a0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000002"


@pytest.fixture
def cipher(monkeypatch, tmp_path) -> FieldCipher:
    """The keys the migration reads from the settings (the environment)."""
    key = os.urandom(32)
    monkeypatch.setenv("PRIVACY_ENCRYPTION_KEYS",
                       json.dumps({"m1": base64.b64encode(key).decode()}))
    for name in ("JWT_SECRET", "BLIND_INDEX_KEY", "PSEUDONYM_KEY"):
        monkeypatch.setenv(f"PRIVACY_{name}", secrets.token_urlsafe(32))
    monkeypatch.setenv("PRIVACY_DATA_DIR", str(tmp_path))
    config.get_settings.cache_clear()
    config.resolved_settings.cache_clear()
    yield FieldCipher({"m1": key}, "m1")
    config.get_settings.cache_clear()
    config.resolved_settings.cache_clear()


async def _run(url: str, statement: str, **params) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        await engine.dispose()


def _reseal_round_trip(url: str, cipher: FieldCipher) -> None:
    upgrade(url, "0003")
    for row_id, name in ((ALICE, "Alice Old"), (BOB, "Bob Old")):
        asyncio.run(_run(
            url, "INSERT INTO customer (id, name_enc, email_enc, created_at, updated_at) "
                 "VALUES (:id, :name, :email, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            id=row_id, name=cipher.seal(name, "customer.name"),
            email=cipher.seal(f"{row_id}@example.com", "customer.email")))

    upgrade(url)
    rows = dict(asyncio.run(_run(url, "SELECT id, name_enc FROM customer")))
    assert cipher.decrypt(rows[ALICE], context="customer.name", row_id=ALICE) == "Alice Old"
    assert cipher.decrypt(rows[BOB], context="customer.name", row_id=BOB) == "Bob Old"
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(rows[ALICE], context="customer.name", row_id=BOB)

    downgrade(url, "0003")
    rows = dict(asyncio.run(_run(url, "SELECT id, name_enc FROM customer")))
    assert cipher.open(rows[BOB], "customer.name") == "Bob Old"


def test_values_are_resealed_to_their_rows_and_back_on_sqlite(tmp_path, cipher):
    _reseal_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", cipher)


def test_values_are_resealed_to_their_rows_and_back_on_postgres(request, cipher):
    """Skipped unless PRIVACY_TEST_DATABASE_URL names PostgreSQL (a scratch database)."""
    url = request.getfixturevalue("postgres_scratch_url")
    _reseal_round_trip(async_database_url(url), cipher)
