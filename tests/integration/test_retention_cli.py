"""`privacy-api retention run`: a dry run and a run on a fake clock, as a new user would."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import cli
from app.core.config import get_settings
from app.core.db import utcnow
from app.messages.models import Message
from app.policy.roles import Role
from tests.factories import create_customer, create_message


@pytest.fixture
def configured(settings, monkeypatch):
    """The CLI pointed at the test database."""
    monkeypatch.setenv("PRIVACY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PRIVACY_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _run_cli(*args: str) -> int:
    import asyncio

    return await asyncio.to_thread(cli.main, ["retention", "run", *args])


async def test_dry_run_then_run_on_a_fake_clock(client, auth, session, configured, capsys):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    await create_message(client, headers=auth(Role.STOREFRONT), customer_id=customer_id)
    later = (utcnow() + timedelta(days=800)).date().isoformat()

    assert await _run_cli("--dry-run", "--now", later) == 0
    dry = capsys.readouterr()
    report = json.loads(dry.out)
    assert report["dry_run"] is True
    assert {c["category"]: c["rows"] for c in report["categories"]}["messages"] == 1
    assert "retention messages: 1 would be deleted" in dry.err
    assert await session.scalar(select(func.count()).select_from(Message)) == 1
    await session.rollback()

    assert await _run_cli("--now", later) == 0
    done = capsys.readouterr()
    assert {c["category"]: c["rows"] for c in json.loads(done.out)["categories"]}[
        "messages"] == 1
    assert "retention messages: 1 deleted" in done.err
    assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_a_bad_clock_is_refused(configured, capsys):
    assert await _run_cli("--now", "next tuesday") == 2
    assert "--now" in capsys.readouterr().err
