"""Migration 0004 encrypts the rejection reasons staff wrote before it, and only those."""

import asyncio
import base64
import os
import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import config
from app.core.crypto import FieldCipher
from app.core.migrations import downgrade, upgrade

STAFF_REASON = "Ms Quorrington asked us by phone to drop it."
SERVICE_REASON = "The customer's data was deleted."
CONTEXT = "privacy_request.rejection_reason"


@pytest.fixture
def production_key(monkeypatch, tmp_path):
    """The keys a real `privacy-api migrate` would run with, from PRIVACY_* variables."""
    key = os.urandom(32)
    monkeypatch.setenv("PRIVACY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRIVACY_ENCRYPTION_KEYS",
                       f'{{"m1": "{base64.b64encode(key).decode()}"}}')
    for name in ("JWT_SECRET", "BLIND_INDEX_KEY", "PSEUDONYM_KEY"):
        monkeypatch.setenv(f"PRIVACY_{name}", secrets.token_urlsafe(32))
    config.get_settings.cache_clear()
    config.resolved_settings.cache_clear()
    yield FieldCipher({"m1": key}, "m1")
    config.get_settings.cache_clear()
    config.resolved_settings.cache_clear()


async def _run(url: str, statement: str, **values) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), values)
            return result.all() if result.returns_rows else []
    finally:
        await engine.dispose()


def test_staff_reasons_are_encrypted_and_decrypted_back_on_downgrade(tmp_path, production_key):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rejections.db'}"
    upgrade(url, "0003")
    for request_id, reason in (("r-staff", STAFF_REASON), ("r-service", SERVICE_REASON)):
        asyncio.run(_run(url, "INSERT INTO privacy_request (id, customer_id, type, state, "
                         "received_at, rejection_reason, code_attempts, filed_by_role, "
                         "filed_by_id) VALUES (:id, 'c-1', 'access', 'rejected', "
                         "'2026-11-27 10:00:00', :reason, 0, 'customer', 'c-1')",
                         id=request_id, reason=reason))
    upgrade(url, "0004")
    rows = dict((r[0], r[1:]) for r in asyncio.run(_run(
        url, "SELECT id, rejection_reason, rejection_reason_enc FROM privacy_request")))
    assert rows["r-service"] == (SERVICE_REASON, None)
    plain, sealed = rows["r-staff"]
    assert plain is None and "Quorrington" not in sealed
    assert production_key.open(sealed, CONTEXT) == STAFF_REASON  # 0010 binds it to its row

    downgrade(url, "0003")
    restored = asyncio.run(_run(url, "SELECT id, rejection_reason FROM privacy_request"))
    assert dict(restored) == {"r-staff": STAFF_REASON, "r-service": SERVICE_REASON}
