"""SMS through the outbox: an HTTP gateway (httpx MockTransport, and scripts/fake_sms_gateway.py
running on loopback), or the SMS folder; and the CLI that queues a version's notices."""

import asyncio
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.outbox.dispatcher import deliver_pending
from app.outbox.mailer import ChannelSender, OutgoingMail, UnknownChannel, sender_from_settings
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue
from app.outbox.sms import SmsFolderSender, SmsGatewaySender, SmsRejected
from app.policy.roles import Role
from tests.factories import create_customer
from tests.policy_factories import PHONE_ONLY, add_customer, publish, run

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GATEWAY = PROJECT_ROOT / "scripts" / "fake_sms_gateway.py"
PHONE = "+8613800138000"
TEXT = "Privacy policy update: version 2 takes effect 10 December 2026."


class FakeGateway:
    """`scripts/fake_sms_gateway.py` running on a free loopback port, logging to a file."""

    def __init__(self, folder: Path, *, fail_first: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/sms"
        self.log = folder / "gateway.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, str(GATEWAY), "--port", str(port), "--log", str(self.log),
             "--fail-first", str(fail_first)], stdout=subprocess.PIPE)
        self.process.stdout.readline()  # "fake SMS gateway on ...": it listens

    @property
    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture
def gateway(tmp_path):
    running = FakeGateway(tmp_path, fail_first=1)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_gateway_sender_posts_json_with_token_and_idempotency_key():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200 if len(seen) == 1 else 500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        sender = SmsGatewaySender("https://sms.example/send", client, token="s3cret")
        mail = OutgoingMail(id="m-1", to=PHONE, subject="unused", body=TEXT, channel="sms")
        await sender.send(mail)
        with pytest.raises(SmsRejected, match="500"):
            await sender.send(mail)

    request = seen[0]
    assert request.method == "POST" and str(request.url) == "https://sms.example/send"
    assert json.loads(request.content) == {"id": "m-1", "to": PHONE, "text": TEXT}
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["idempotency-key"] == "m-1"


async def test_gateway_without_token_sends_no_authorization():
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))
    async with httpx.AsyncClient(transport=transport) as client:
        await SmsGatewaySender("https://sms.example/send", client).send(
            OutgoingMail(id="m-2", to=PHONE, subject="s", body=TEXT, channel="sms"))
    assert "authorization" not in seen[0].headers


async def test_sms_senders_follow_settings(settings, http, tmp_path):
    folder = sender_from_settings(settings).senders["sms"]
    assert isinstance(folder, SmsFolderSender) and folder.folder == settings.data_dir / "sms"
    configured = settings.model_copy(update={"sms_gateway_url": "https://sms.example/send"})
    assert isinstance(sender_from_settings(configured, http=http).senders["sms"],
                      SmsGatewaySender)
    with pytest.raises(ValueError):
        sender_from_settings(configured)
    with pytest.raises(UnknownChannel):
        await ChannelSender({}).send(OutgoingMail(id="x", to=PHONE, subject="s", body="b",
                                                  channel="fax"))


async def test_outbox_refuses_an_unknown_channel(app):
    async with app.state.sessions() as session, session.begin():
        with pytest.raises(ValueError, match="channel"):
            await enqueue(session, app.state.keys, kind="test", to=PHONE, subject="s",
                          body="b", channel="fax")


async def test_outbox_sms_reaches_the_local_gateway_once_after_a_failure(app, gateway, http,
                                                                         session):
    settings = app.state.settings.model_copy(update={
        "sms_gateway_url": gateway.url, "sms_gateway_token": SecretStr("gw-token")})
    sender = sender_from_settings(settings, http=http)
    async with app.state.sessions() as db, db.begin():
        message_id = await enqueue(db, app.state.keys, kind="test", to=PHONE, subject="s",
                                   body=TEXT, channel="sms")

    first = await deliver_pending(app.state.sessions, app.state.keys, sender, max_attempts=3)
    assert (first.sent, first.retried) == (0, 1)
    later = datetime.now(UTC) + timedelta(minutes=1)
    second = await deliver_pending(app.state.sessions, app.state.keys, sender, max_attempts=3,
                                   now=lambda: later)
    assert second.sent == 1

    assert gateway.received == [{"id": message_id, "to": PHONE, "text": TEXT,
                                 "authorization": "Bearer gw-token",
                                 "idempotency_key": message_id}]
    row = await session.get(OutboxMessage, message_id)
    assert row.channel == "sms" and row.sent_at is not None and row.recipient_enc is None


async def test_policy_notice_by_sms_arrives_at_the_gateway(app, client, auth, gateway, http,
                                                          tmp_path):
    await create_customer(client, headers=auth(Role.STOREFRONT), email="kenji@example.com")
    await add_customer(app, phone=PHONE_ONLY)
    version = await publish(client, auth)
    await run(app, version)
    settings = app.state.settings.model_copy(update={
        "sms_gateway_url": gateway.url, "mail_dir": tmp_path / "mail"})

    sender = sender_from_settings(settings, http=http)
    first = await deliver_pending(app.state.sessions, app.state.keys, sender, max_attempts=3)
    later = datetime.now(UTC) + timedelta(minutes=1)
    second = await deliver_pending(app.state.sessions, app.state.keys, sender, max_attempts=3,
                                   now=lambda: later)

    assert (first.sent, first.retried, second.sent) == (1, 1, 1)  # the gateway failed once
    [payload] = gateway.received
    assert payload["to"] == PHONE_ONLY
    assert f"version {version} takes effect" in payload["text"] and len(payload["text"]) <= 200
    assert len(os.listdir(tmp_path / "mail")) == 1


def _cli_env(resolved, tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRIVACY_")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT), "PRIVACY_DATA_DIR": str(tmp_path),
        "PRIVACY_DATABASE_URL": resolved.database_url,
        "PRIVACY_ENCRYPTION_KEYS": json.dumps(
            {kid: key.get_secret_value() for kid, key in resolved.encryption_keys.items()}),
        "PRIVACY_ENCRYPTION_ACTIVE_KEY_ID": resolved.encryption_active_key_id,
        "PRIVACY_BLIND_INDEX_KEY": resolved.blind_index_key.get_secret_value(),
        "PRIVACY_PSEUDONYM_KEY": resolved.pseudonym_key.get_secret_value(),
        "PRIVACY_JWT_SECRET": resolved.jwt_secret.get_secret_value(),
    })
    return env


async def _cli(env, tmp_path, *args) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "policies", "notify", *args, cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_queues_notices_with_a_progress_line(app, client, auth, session, tmp_path):
    for _ in range(3):
        await create_customer(client, headers=auth(Role.STOREFRONT))
    await add_customer(app, phone=PHONE_ONLY)
    version = await publish(client, auth)
    env = _cli_env(app.state.settings, tmp_path)

    code, out, err = await _cli(env, tmp_path, str(version), "--batch", "3")

    assert code == 0, err
    first, second, summary = out.splitlines()  # customers come in id order: random here
    assert first.startswith(f"version {version}: 3 notices queued (")
    assert second == f"version {version}: 4 notices queued (3 email, 1 sms)"
    assert summary == (f"version {version}: 4 queued now; in all 4 queued, 0 sent, "
                       "4 pending, 0 failed, 0 remaining")
    assert PHONE_ONLY not in out + err and "@example.com" not in out + err
    kinds = (await session.scalars(select(OutboxMessage.channel))).all()
    assert sorted(kinds) == ["email", "email", "email", "sms"]

    again = await _cli(env, tmp_path, str(version))
    assert again[0] == 0 and "0 queued now; in all 4 queued" in again[1]
    missing = await _cli(env, tmp_path, "99")
    assert missing[0] == 1 and "no policy version 99" in missing[2]


async def test_imported_phone_only_customer_gets_the_notice_by_sms(app, client, auth, session,
                                                                   tmp_path):
    script = PROJECT_ROOT / "scripts" / "add_phone_only_customer.py"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "--name", "Jonas Novak", "--phone", "+49 151 12345678",
        cwd=tmp_path, env=_cli_env(app.state.settings, tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    customer_id = stdout.decode().strip()

    version = await publish(client, auth)
    assert (await run(app, version)).sms == 1
    channel = await session.scalar(select(OutboxMessage.channel)
                                   .where(OutboxMessage.customer_id == customer_id))
    assert channel == "sms"
    stored = (await session.execute(select(OutboxMessage.id, OutboxMessage.recipient_enc)
                                    .where(OutboxMessage.customer_id == customer_id))).one()
    assert app.state.keys.cipher.decrypt(stored.recipient_enc, context="outbox_message.recipient",
                                         row_id=stored.id) == "+4915112345678"
