"""The email outbox: enqueued in the caller's transaction, delivered at least once (never twice
by concurrent dispatchers), retried with backoff, given up after max attempts; encrypted at rest.

Delivery goes to a real SMTP server on loopback (aiosmtpd), or to a folder of .eml files.
"""

import asyncio
import json
import logging
import os
import socket
import stat
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update

from app.core.db import utcnow
from app.main import create_app
from app.outbox.dispatcher import DeliveryReport, deliver_pending
from app.outbox.mailer import (
    FolderSender,
    OutgoingMail,
    SmtpSender,
    mail_sender_from_settings,
)
from app.outbox.models import BODY, RECIPIENT, SUBJECT, OutboxMessage
from app.outbox.service import enqueue

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TO = "Ottilie.Brandvold@Outbox-Example.org"
SUBJECT_TEXT = "Your verification code"
BODY_TEXT = "Your code is 831604. It expires in 10 minutes. Ottilie Brandvold"
NEEDLES = [TO, "Brandvold", "outbox-example", "verification code", "831604"]


# A real SMTP server on loopback

@dataclass
class Recorder:
    """aiosmtpd handler: records accepted mail, answers 451 while `failures` remain."""

    failures: int = 0
    data_calls: int = 0
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_calls += 1
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 try later"
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
        return "250 OK"

    def message_ids(self) -> Counter:
        return Counter(mail["Message-ID"] for _, _, mail in self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    """A running SMTP server; yields its recorder and port."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


def smtp_sender(app, port: int) -> SmtpSender:
    settings = app.state.settings.model_copy(update={"smtp_host": "127.0.0.1",
                                                     "smtp_port": port})
    return SmtpSender(settings, timeout=5)


@pytest.fixture
def live(app, smtp) -> SmtpSender:
    return smtp_sender(app, smtp[1])


@pytest.fixture
def down(app) -> SmtpSender:
    """A sender whose server does not answer (nothing listens on the port)."""
    return smtp_sender(app, free_port())


class Clock:
    """A controlled `now`."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


# Helpers

async def put(app, *, to: str = TO, subject: str = SUBJECT_TEXT, body: str = BODY_TEXT,
              kind: str = "verification_code") -> str:
    async with app.state.sessions() as session, session.begin():
        return await enqueue(session, app.state.keys, kind=kind, to=to, subject=subject,
                             body=body)


async def deliver(app, sender, **options) -> DeliveryReport:
    options.setdefault("max_attempts", 5)
    return await deliver_pending(app.state.sessions, app.state.keys, sender, **options)


async def stored(session) -> dict[str, OutboxMessage]:
    rows = (await session.scalars(select(OutboxMessage))).all()
    session.expunge_all()  # detached rows keep their values; the next read starts afresh
    await session.rollback()
    return {row.id: row for row in rows}


# Enqueueing is transactional

async def test_rolled_back_enqueue_sends_nothing(app, smtp, live, session):
    recorder, _ = smtp
    with pytest.raises(RuntimeError):
        async with app.state.sessions() as db, db.begin():
            await enqueue(db, app.state.keys, kind="verification_code", to=TO,
                          subject=SUBJECT_TEXT, body=BODY_TEXT)
            raise RuntimeError("the announced change failed")

    assert await deliver(app, live) == DeliveryReport()
    assert recorder.data_calls == 0
    assert await stored(session) == {}


async def test_enqueue_only_flushes_the_callers_transaction(app, session):
    async with app.state.sessions() as db:
        message_id = await enqueue(db, app.state.keys, kind="request_outcome", to=TO,
                                   subject=SUBJECT_TEXT, body=BODY_TEXT)
        assert await db.get(OutboxMessage, message_id) is not None
        await db.rollback()
    assert await stored(session) == {}


@pytest.mark.parametrize("mail", [
    {"to": "a@example.org\r\nBcc: b@example.org"},
    {"subject": "hello\nBcc: b@example.org"},
    {"to": " "},
    {"kind": ""},
    {"kind": "k" * 41},
])
async def test_enqueue_rejects_broken_headers(app, mail):
    values = {"kind": "verification_code", "to": TO, "subject": SUBJECT_TEXT,
              "body": BODY_TEXT, **mail}
    async with app.state.sessions() as db:
        with pytest.raises(ValueError):
            await enqueue(db, app.state.keys, **values)


# Delivery

async def test_committed_message_is_delivered_once(app, smtp, live, session):
    recorder, _ = smtp
    message_id = await put(app)

    assert await deliver(app, live) == DeliveryReport(sent=1)

    [(mail_from, recipients, mail)] = recorder.received
    assert (mail_from, recipients) == (app.state.settings.mail_from, [TO])
    assert mail["From"] == app.state.settings.mail_from
    assert mail["To"] == TO
    assert mail["Subject"] == SUBJECT_TEXT
    assert mail["Message-ID"] == f"<{message_id}@privacy-api>"
    assert mail.get_content().strip() == BODY_TEXT
    row = (await stored(session))[message_id]
    assert row.sent_at is not None and row.failed_at is None
    assert (row.attempts, row.claimed_until, row.last_error) == (0, None, None)

    # Once recorded as sent, never sent again, however late the next run.
    assert await deliver(app, live, now=lambda: utcnow() + timedelta(days=2)) == DeliveryReport()
    assert recorder.data_calls == 1


async def test_failing_server_recovers_and_every_message_arrives_once(app, smtp, live,
                                                                     session, caplog):
    caplog.set_level(logging.DEBUG, logger="app")
    recorder, _ = smtp
    recorder.failures = 4
    ids = {await put(app, subject=f"{SUBJECT_TEXT} {n}") for n in range(3)}
    clock = Clock(utcnow())
    start = clock.at

    assert await deliver(app, live, now=clock) == DeliveryReport(retried=3)
    rows = await stored(session)
    assert {(r.attempts, r.next_attempt_at, r.last_error, r.sent_at, r.claimed_until)
            for r in rows.values()} == {(1, start + timedelta(seconds=2), "SMTPDataError",
                                         None, None)}

    clock.advance(seconds=1)  # backing off: nothing is due yet
    assert await deliver(app, live, now=clock) == DeliveryReport()
    assert recorder.data_calls == 3

    clock.advance(seconds=1)  # one more 451, then the server accepts
    assert await deliver(app, live, now=clock) == DeliveryReport(sent=2, retried=1)
    [retry] = [r for r in (await stored(session)).values() if r.sent_at is None]
    assert retry.attempts == 2
    assert retry.next_attempt_at == clock.at + timedelta(seconds=4)

    for _ in range(5):
        clock.advance(seconds=4)
        await deliver(app, live, now=clock)

    rows = await stored(session)
    assert all(r.sent_at is not None and r.failed_at is None for r in rows.values())
    assert sorted(r.attempts for r in rows.values()) == [1, 1, 2]
    assert recorder.message_ids() == Counter({f"<{i}@privacy-api>": 1 for i in ids})
    assert recorder.data_calls == 4 + 3
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app."))
    assert [n for n in NEEDLES if n.lower() in logged.lower()] == []
    assert all(i in logged for i in ids)


async def test_unreachable_server_is_retried_until_it_is_back(app, smtp, live, down, session):
    recorder, _ = smtp
    message_id = await put(app)
    clock = Clock(utcnow())

    assert await deliver(app, down, now=clock) == DeliveryReport(retried=1)
    clock.advance(seconds=2)
    assert await deliver(app, down, now=clock) == DeliveryReport(retried=1)
    row = (await stored(session))[message_id]
    assert (row.attempts, row.last_error) == (2, "SMTPConnectError")
    assert row.next_attempt_at == clock.at + timedelta(seconds=4)

    clock.advance(seconds=4)
    assert await deliver(app, live, now=clock) == DeliveryReport(sent=1)
    assert recorder.message_ids() == Counter({f"<{message_id}@privacy-api>": 1})


async def test_backoff_is_capped_at_an_hour(app, down, session):
    message_id = await put(app)
    clock = Clock(utcnow())
    for _ in range(13):  # 2, 4, ... 2048 s, then 4096 s is capped
        assert await deliver(app, down, now=clock, max_attempts=20) == DeliveryReport(
            retried=1)
        last_try = clock.at
        clock.advance(hours=1)
    row = (await stored(session))[message_id]
    assert row.attempts == 13 and row.failed_at is None
    assert row.next_attempt_at == last_try + timedelta(hours=1)


async def test_given_up_after_max_attempts(app, smtp, live, down, session):
    recorder, _ = smtp
    message_id = await put(app)
    clock = Clock(utcnow())

    reports = []
    for _ in range(5):
        reports.append(await deliver(app, down, now=clock, max_attempts=3))
        clock.advance(hours=1)
    assert reports == [DeliveryReport(retried=1), DeliveryReport(retried=1),
                       DeliveryReport(failed=1), DeliveryReport(), DeliveryReport()]
    row = (await stored(session))[message_id]
    assert row.failed_at is not None and row.sent_at is None
    assert (row.attempts, row.last_error) == (3, "SMTPConnectError")

    assert await deliver(app, live, now=clock, max_attempts=3) == DeliveryReport()
    assert recorder.data_calls == 0


async def test_concurrent_dispatchers_never_send_a_message_twice(app, smtp, live):
    recorder, _ = smtp
    ids = [await put(app, subject=f"{SUBJECT_TEXT} {n}") for n in range(12)]

    first, second = await asyncio.gather(deliver(app, live, batch=3),
                                         deliver(app, live, batch=3))

    assert first.sent + second.sent == 12
    assert first.retried + first.failed + second.retried + second.failed == 0
    assert recorder.message_ids() == Counter({f"<{i}@privacy-api>": 1 for i in ids})


async def test_a_claimed_message_waits_for_its_lease_to_expire(app, smtp, live):
    """Another replica's claim keeps a message away; a crashed replica's claim expires."""
    recorder, _ = smtp
    message_id = await put(app)
    now = utcnow()
    async with app.state.sessions() as db, db.begin():
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                         .values(claimed_until=now + timedelta(minutes=5)))

    assert await deliver(app, live, now=lambda: now) == DeliveryReport()
    later = now + timedelta(minutes=5)
    assert await deliver(app, live, now=lambda: later) == DeliveryReport(sent=1)
    assert recorder.message_ids() == Counter({f"<{message_id}@privacy-api>": 1})


async def test_slow_sending_stops_before_the_lease_runs_out(app, session):
    """Messages a batch cannot send within its lease are released and sent by the next."""
    ids = {await put(app, subject=f"{SUBJECT_TEXT} {n}") for n in range(4)}
    clock = Clock(utcnow())
    sent: list[str] = []

    class SlowSender:
        async def send(self, mail: OutgoingMail) -> None:
            sent.append(mail.id)
            clock.advance(minutes=3)

    batches: list[DeliveryReport] = []
    report = await deliver(app, SlowSender(), now=clock, batch=4,
                           lease=timedelta(minutes=5), on_batch=batches.append)

    assert report == DeliveryReport(sent=4)
    assert batches == [DeliveryReport(sent=1)] * 4
    assert sorted(sent) == sorted(ids)
    assert all(r.claimed_until is None for r in (await stored(session)).values())


async def test_undecryptable_message_counts_as_failed_attempt(app, smtp, live, session):
    recorder, _ = smtp
    message_id = await put(app)
    async with app.state.sessions() as db, db.begin():
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                         .values(body_enc="test1.AAAA"))

    assert await deliver(app, live, max_attempts=1) == DeliveryReport(failed=1)
    row = (await stored(session))[message_id]
    assert (row.last_error, row.attempts) == ("DecryptionFailed", 1)
    assert recorder.data_calls == 0


# Development mail folder

async def test_folder_sender_writes_readable_eml_files(app, tmp_path):
    folder = tmp_path / "mail"
    sender = FolderSender(folder, mail_from="service@example.org")
    message_id = await put(app)

    assert await deliver(app, sender) == DeliveryReport(sent=1)
    path = folder / f"{message_id}.eml"
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert (mail["From"], mail["To"], mail["Subject"]) == ("service@example.org", TO,
                                                           SUBJECT_TEXT)
    assert mail["Message-ID"] == f"<{message_id}@privacy-api>"
    assert mail.get_content().strip() == BODY_TEXT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Writing the same message again (at-least-once) just replaces the file.
    await sender.send(OutgoingMail(id=message_id, to=TO, subject=SUBJECT_TEXT, body="again"))
    assert os.listdir(folder) == [f"{message_id}.eml"]
    assert "again" in path.read_text()


def test_sender_follows_settings(settings, tmp_path):
    smtp = mail_sender_from_settings(
        settings.model_copy(update={"smtp_host": "mail.example.org"}))
    assert isinstance(smtp, SmtpSender)
    folder = mail_sender_from_settings(settings.model_copy(update={"mail_dir": tmp_path}))
    assert isinstance(folder, FolderSender) and folder.folder == tmp_path
    assert mail_sender_from_settings(settings).folder == settings.data_dir / "mail"


async def test_server_delivers_in_the_background(app, settings, tmp_path):
    folder = tmp_path / "mail"
    server = create_app(settings.model_copy(update={"mail_dir": folder,
                                                    "outbox_interval_seconds": 0.05}))
    message_id = await put(app)
    async with server.router.lifespan_context(server):
        for _ in range(200):
            if (folder / f"{message_id}.eml").exists():
                break
            await asyncio.sleep(0.05)
    assert os.listdir(folder) == [f"{message_id}.eml"]


# Personal data at rest

async def test_columns_hold_no_plaintext_and_forget_it_once_sent(app, smtp, live, session):
    message_id = await put(app)
    row = (await stored(session))[message_id]
    cipher = app.state.keys.cipher
    assert cipher.decrypt(row.recipient_enc, context=RECIPIENT, row_id=row.id) == TO
    assert cipher.decrypt(row.subject_enc, context=SUBJECT, row_id=row.id) == SUBJECT_TEXT
    assert cipher.decrypt(row.body_enc, context=BODY, row_id=row.id) == BODY_TEXT
    await session.rollback()
    result = await session.execute(text("SELECT * FROM outbox_message"))
    stored_text = " ".join(str(value) for value in result.one()).lower()
    await session.rollback()
    assert [n for n in NEEDLES if n.lower() in stored_text] == []

    await deliver(app, live)
    row = (await stored(session))[message_id]
    assert (row.recipient_enc, row.subject_enc, row.body_enc) == (None, None, None)
    assert row.sent_at is not None and row.kind == "verification_code"


# The command

async def test_cli_outbox_run_delivers_everything_pending(app, tmp_path):
    resolved = app.state.settings
    ids = [await put(app, subject=f"{SUBJECT_TEXT} {n}") for n in range(3)]
    mail_dir = tmp_path / "mail"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PRIVACY_")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT),
        "PRIVACY_DATA_DIR": str(tmp_path),
        "PRIVACY_DATABASE_URL": resolved.database_url,
        "PRIVACY_MAIL_DIR": str(mail_dir),
        "PRIVACY_ENCRYPTION_KEYS": json.dumps(
            {kid: key.get_secret_value() for kid, key in resolved.encryption_keys.items()}),
        "PRIVACY_ENCRYPTION_ACTIVE_KEY_ID": resolved.encryption_active_key_id,
        "PRIVACY_BLIND_INDEX_KEY": resolved.blind_index_key.get_secret_value(),
        "PRIVACY_PSEUDONYM_KEY": resolved.pseudonym_key.get_secret_value(),
        "PRIVACY_JWT_SECRET": resolved.jwt_secret.get_secret_value(),
    })
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "outbox", "run", "--batch", "2", cwd=tmp_path,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert lines == ["batch: 2 sent, 0 to retry, 0 given up",
                     "batch: 1 sent, 0 to retry, 0 given up",
                     "outbox delivered: 3 sent, 0 to retry, 0 given up"]
    assert sorted(os.listdir(mail_dir)) == sorted(f"{i}.eml" for i in ids)
    output = (stdout + stderr).decode().lower()
    assert [n for n in NEEDLES if n.lower() in output] == []
