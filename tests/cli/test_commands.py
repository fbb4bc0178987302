"""The `privacy-api` command as an operator runs it: version, help, token, migrate, verify,
the background worker."""

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time

import httpx
from jose import jwt
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.models import AuditEntry
from app.audit.repository import _entry
from app.cli import _parser
from app.core.config import async_database_url
from app.core.db import utcnow
from app.core.security import Actor
from app.policy.roles import Role
from tests.live import (
    cli,
    free_port,
    start_server,
    start_worker,
    stop,
    wait_for_log,
    wait_ready,
)


def run_cli(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    """Run `privacy-api ARGS` in a fresh process with only the given PRIVACY_* settings."""
    return cli(*args, env=env, cwd=cwd)


def write_entry(database_url: str, audit_key: str) -> str:
    """Append one unsealed audit entry, authenticated with `audit_key`; return its id."""
    entry = _entry(Actor(sub="agent-1", role=Role.SUPPORT_AGENT), key=audit_key.encode(),
                   action="read", purpose="service", subject_id="subject-1",
                   resource="customer", resource_id=None, fields=("name",), now=utcnow())

    async def write() -> None:
        engine = create_async_engine(async_database_url(database_url))
        async with engine.begin() as connection:
            await connection.execute(insert(AuditEntry.__table__), [entry])
        await engine.dispose()

    asyncio.run(write())
    return entry["id"]


def wait_sealed(database_url: str, entry_id: str, *, timeout: float = 60) -> int:
    """Wait until the entry is sealed; return its place in the chain."""

    async def seq() -> int | None:
        engine = create_async_engine(async_database_url(database_url))
        async with engine.connect() as connection:
            found = await connection.scalar(select(AuditEntry.seq)
                                            .where(AuditEntry.id == entry_id))
        await engine.dispose()
        return found

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := asyncio.run(seq())) is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"entry {entry_id} not sealed within {timeout} s")


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)
        else:
            yield parser.prog, action


def test_version_prints_the_package_version(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("privacy-api ") and result.stdout.strip()[-1].isdigit()


def test_every_option_is_described():
    undescribed = [f"{prog} {action.option_strings or action.dest}"
                   for prog, action in _options(_parser()) if not action.help]
    assert not undescribed


def test_token_refuses_to_create_secrets(tmp_path):
    """Outside the server's data folder, `token` mints nothing and creates nothing."""
    result = run_cli("token", "--role", "support_agent", "--sub", "agent-1", cwd=tmp_path)
    assert result.returncode == 2
    assert "PRIVACY_DATA_DIR" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()


def test_token_signs_with_the_servers_secrets(tmp_path):
    data_dir = tmp_path / "server-data"
    assert run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=str(data_dir)).returncode == 0
    result = run_cli("token", "--role", "support_agent", "--sub", "agent-1", cwd=tmp_path,
                     PRIVACY_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    secret = json.loads((data_dir / "secrets.json").read_text())["jwt_secret"]
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"],
                        audience="privacy-api")
    assert claims["role"] == "support_agent" and claims["sub"] == "agent-1"


def test_migrate_creates_a_fresh_data_dir(tmp_path):
    data_dir = tmp_path / "new" / "nested" / "data"
    result = run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data_dir / "privacy.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"customer", "audit_entry", "alembic_version"} <= tables


def test_audit_verify_works_on_a_fresh_data_dir(tmp_path):
    result = run_cli("audit", "verify", cwd=tmp_path, PRIVACY_DATA_DIR=str(tmp_path / "fresh"))
    assert result.returncode == 0, result.stderr
    assert "audit chain intact: 0 entries (no schema yet" in result.stdout


def test_audit_verify_after_migrating(tmp_path):
    data_dir = str(tmp_path / "data")
    assert run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=data_dir).returncode == 0
    result = run_cli("audit", "verify", cwd=tmp_path, PRIVACY_DATA_DIR=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit chain intact: 0 entries checked")


def test_mail_last_code_prints_the_newest_code_decoded(tmp_path):
    from email.message import EmailMessage

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    for number, code in enumerate(("111111", "234567")):
        message = EmailMessage()
        message["Subject"] = "Your verification code"
        message.set_content(f"Your code to confirm your access request is {code}. It is valid "
                            "for 10 minutes. Ünïcode forces an encoded body.", charset="utf-8")
        path = mail_dir / f"{number}.eml"
        path.write_bytes(message.as_bytes())
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
    result = run_cli("mail", "last-code", cwd=tmp_path, PRIVACY_MAIL_DIR=str(mail_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "234567\n"


def test_mail_last_code_without_mail(tmp_path):
    result = run_cli("mail", "last-code", cwd=tmp_path, PRIVACY_MAIL_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "no verification code" in result.stderr


def test_serve_no_migrate_leaves_the_schema_to_migrate_and_logs_json(tmp_path):
    """`serve --no-migrate` serves an unmigrated database as not ready (503) until `migrate`
    ran; its access lines are JSON with the request id, route, status and duration."""
    env = {"PRIVACY_DATA_DIR": str(tmp_path / "data"), "PRIVACY_LOG_FORMAT": "json",
           "PRIVACY_LOG_LEVEL": "INFO"}
    port = free_port()
    server = start_server("--no-migrate", env=env, cwd=tmp_path, port=port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                before = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        assert before.status_code == 503 and before.json()["code"] == "schema_not_current"
        assert run_cli("migrate", cwd=tmp_path, **env).returncode == 0
        assert wait_ready(port, server).json()["schema_revision"]
    finally:
        stop(server)
    lines = [json.loads(line) for line in (tmp_path / f"server-{port}.log").read_text()
             .splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line["logger"] == "app.access"
                and line["request_id"] == before.headers["x-request-id"]]
    assert (access["route"], access["status"], access["code"]) == (
        "/ready", 503, "schema_not_current")
    assert access["duration_ms"] >= 0 and access["role"] == "-"


def test_token_with_rs256_points_at_the_identity_provider(tmp_path):
    result = run_cli("token", "--role", "support_agent", "--sub", "agent-1", cwd=tmp_path,
                     PRIVACY_JWT_ALGORITHM="RS256")
    assert result.returncode == 2
    assert "identity provider" in result.stderr and result.stdout == ""


def test_worker_runs_the_background_work_until_stopped(tmp_path):
    """`worker` serves no HTTP but seals the audit trail (here SQLite, alone), and stops
    cleanly on SIGTERM."""
    data_dir = tmp_path / "data"
    env = {"PRIVACY_DATA_DIR": str(data_dir), "PRIVACY_AUDIT_SEAL_INTERVAL_SECONDS": "0.1",
           "PRIVACY_BACKGROUND_TASKS": "off"}  # the servers' setting; the worker works anyway
    assert run_cli("migrate", cwd=tmp_path, **env).returncode == 0
    url = f"sqlite:///{data_dir / 'privacy.db'}"
    audit_key = json.loads((data_dir / "secrets.json").read_text())["audit_key"]
    worker = start_worker(env=env, cwd=tmp_path)
    try:
        wait_for_log(tmp_path / "worker.log", "background work running", worker)
        assert wait_sealed(url, write_entry(url, audit_key)) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    log = (tmp_path / "worker.log").read_text()
    assert "worker stopped" in log and "Traceback" not in log


def test_serve_runs_uvloop_and_httptools_without_uvicorns_access_log(monkeypatch, tmp_path):
    """The app writes its own access lines (without personal data); uvicorn adds none."""
    import uvicorn

    from app.cli import _serve
    from app.core.config import get_settings, resolved_settings

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options, app=app))
    monkeypatch.setenv("PRIVACY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()  # read this test's PRIVACY_DATA_DIR, and forget it after
    resolved_settings.cache_clear()
    try:
        assert _serve(argparse.Namespace(host="127.0.0.1", port=8000, workers=1,
                                         no_migrate=True)) == 0
    finally:
        get_settings.cache_clear()
        resolved_settings.cache_clear()
    assert served["app"] == "app.main:app"
    assert (served["loop"], served["http"]) == ("uvloop", "httptools")
    assert served["access_log"] is False and served["proxy_headers"] is True
