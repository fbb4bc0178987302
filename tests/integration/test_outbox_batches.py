"""The outbox in batches: claimed many at a time, sent side by side, outcomes recorded per
message; a failing message does not fail its batch; many dispatchers at once deliver every
message exactly once; a cancelled batch records what it sent."""

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.core.db import utcnow
from app.outbox import repository
from app.outbox.dispatcher import DeliveryReport, deliver_pending
from app.outbox.mailer import FolderSender, SmtpSender
from app.outbox.models import OutboxMessage
from app.outbox.outgoing import BatchSender, Outcomes, OutgoingMail
from app.outbox.service import message_values
from tests.integration.test_outbox import Clock, free_port

REFUSED = "nobody@outbox-example.org"


@dataclass
class Server:
    """aiosmtpd handler: records mail and the connection it came on; refuses `REFUSED`;
    drops the connection while taking the message numbered `drop_at` (counted from 1)."""

    drop_at: int = 0
    data_calls: int = 0
    received: list[tuple[int, bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_calls += 1
        if self.data_calls == self.drop_at:
            server.transport.close()
            return "451 4.3.0 gone"
        self.received.append((id(session), envelope.content))
        return "250 OK"

    def message_ids(self) -> Counter:
        return Counter(message_from_bytes(content, policy=policy.default)["Message-ID"]
                       for _, content in self.received)

    def connections(self) -> int:
        return len({session for session, _ in self.received})


@pytest.fixture
def smtp():
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def smtp_sender(app, port: int, connections: int) -> SmtpSender:
    return SmtpSender(app.state.settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_connections": connections}),
        timeout=5)


async def queue(app, count: int, *, to: Callable[[int], str] = lambda n: f"c{n}@example.org",
                ) -> list[str]:
    """Put `count` messages into the outbox in one statement; their ids in queue order."""
    rows = [message_values(app.state.keys, kind="test", to=to(n), subject=f"Notice {n}",
                           body=f"Message number {n}.") for n in range(count)]
    async with app.state.sessions() as session, session.begin():
        await repository.add_many(session, rows)
    return [row["id"] for row in rows]


async def stored(session) -> dict[str, OutboxMessage]:
    rows = (await session.scalars(select(OutboxMessage))).all()
    session.expunge_all()
    await session.rollback()
    return {row.id: row for row in rows}


def deliver(app, sender, **options):
    options.setdefault("max_attempts", 5)
    return deliver_pending(app.state.sessions, app.state.keys, sender, **options)


class Counting(BatchSender):
    """Counts every mail handed to it, then lets the folder sender write them."""

    def __init__(self, inner: BatchSender) -> None:
        self.inner = inner
        self.handed: Counter = Counter()

    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        self.handed.update(mail.id for mail in mails)
        await self.inner.send_many(mails, outcomes, may_start=may_start)


# Batches

async def test_folder_batches_write_each_message_once_and_record_it(app, session, tmp_path):
    ids = await queue(app, 120)
    folder = tmp_path / "mail"
    batches: list[DeliveryReport] = []

    report = await deliver(app, FolderSender(folder), batch=50, on_batch=batches.append)

    assert report == DeliveryReport(sent=120)
    assert batches == [DeliveryReport(sent=50), DeliveryReport(sent=50), DeliveryReport(sent=20)]
    assert sorted(os.listdir(folder)) == sorted(f"{i}.eml" for i in ids)  # no stray .tmp
    mail = message_from_bytes((folder / f"{ids[7]}.eml").read_bytes(), policy=policy.default)
    assert (mail["To"], mail["Subject"]) == ("c7@example.org", "Notice 7")
    assert mail.get_content() == "Message number 7.\n"
    rows = await stored(session)
    assert all(r.sent_at is not None and r.claimed_until is None and r.recipient_enc is None
               and r.body_enc is None for r in rows.values())
    assert await deliver(app, FolderSender(folder)) == DeliveryReport()


async def test_smtp_batches_reuse_a_few_connections(app, smtp, session):
    server, port = smtp
    ids = await queue(app, 120)

    report = await deliver(app, smtp_sender(app, port, connections=3), batch=60)

    assert report == DeliveryReport(sent=120)
    assert server.message_ids() == Counter({f"<{i}@privacy-api>": 1 for i in ids})
    assert server.connections() <= 2 * 3  # two batches of three connections, not 120
    assert all(r.sent_at is not None for r in (await stored(session)).values())


async def test_a_refused_recipient_fails_alone_and_backs_off(app, smtp, session):
    server, port = smtp
    ids = await queue(app, 9, to=lambda n: REFUSED if n == 4 else f"c{n}@example.org")
    clock = Clock(utcnow())

    report = await deliver(app, smtp_sender(app, port, connections=1), now=clock)

    assert report == DeliveryReport(sent=8, retried=1)
    assert server.connections() == 1  # the refusal did not cost the connection
    rows = await stored(session)
    refused = rows[ids[4]]
    assert (refused.attempts, refused.last_error, refused.sent_at, refused.claimed_until) == (
        1, "SMTPRecipientsRefused", None, None)
    assert refused.next_attempt_at == clock.at + timedelta(seconds=2)
    assert refused.recipient_enc is not None  # kept for the next try
    assert all(rows[i].sent_at is not None for i in ids if i != ids[4])


@pytest.mark.parametrize("smtputf8", [True, False])
async def test_an_internationalized_address_needs_a_server_that_takes_it(app, session,
                                                                        smtputf8):
    server = Server()
    controller = Controller(server, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        ids = await queue(app, 2, to=lambda n: "jürgen@beispiel.de" if n else "c0@example.org")
        report = await deliver(app, smtp_sender(app, controller.port, connections=1))
    finally:
        controller.stop()

    rows = await stored(session)
    if smtputf8:
        assert report == DeliveryReport(sent=2)
        assert any("To: jürgen@beispiel.de".encode() in content
                   for _, content in server.received)
    else:
        assert report == DeliveryReport(sent=1, retried=1)
        assert rows[ids[1]].last_error == "SMTPNotSupported"


async def test_a_dropped_connection_is_replaced_within_the_batch(app, smtp, session):
    server, port = smtp
    server.drop_at = 3
    ids = await queue(app, 6)

    report = await deliver(app, smtp_sender(app, port, connections=1))

    assert report == DeliveryReport(sent=5, retried=1)
    assert server.connections() == 2
    rows = await stored(session)
    [failed] = [r for r in rows.values() if r.sent_at is None]
    assert failed.id in ids and failed.last_error == "SMTPServerDisconnected"


async def test_a_file_that_cannot_be_written_fails_alone(app, session, tmp_path):
    folder = tmp_path / "mail"
    ids = await queue(app, 10)
    (folder / f"{ids[5]}.eml").mkdir(parents=True)  # nothing can replace a directory
    (folder / f"{ids[5]}.eml" / "keep").touch()

    report = await deliver(app, FolderSender(folder), batch=10)

    assert report == DeliveryReport(sent=9, retried=1)
    rows = await stored(session)
    assert rows[ids[5]].last_error == "IsADirectoryError" and rows[ids[5]].attempts == 1
    assert sorted(os.listdir(folder)) == sorted(f"{i}.eml" for i in ids)  # no stray .tmp


async def test_an_attempt_counted_elsewhere_is_not_counted_again(app, session):
    """A dispatcher whose lease ran out does not count a failure another one already did."""
    [message_id] = await queue(app, 1)

    class CountedElsewhere:
        async def send(self, mail: OutgoingMail) -> None:
            async with app.state.sessions() as db, db.begin():
                await db.execute(update(OutboxMessage).values(attempts=1, last_error="Other"))
            raise ConnectionError("refused")

    assert await deliver(app, CountedElsewhere()) == DeliveryReport()
    row = (await stored(session))[message_id]
    assert (row.attempts, row.last_error) == (1, "Other")


# Several dispatchers

@pytest.mark.parametrize("kind", ["smtp", "folder"])
async def test_parallel_dispatchers_deliver_every_message_exactly_once(app, smtp, session,
                                                                       tmp_path, kind):
    server, port = smtp
    ids = await queue(app, 300)
    sender = (smtp_sender(app, port, connections=2) if kind == "smtp"
              else Counting(FolderSender(tmp_path / "mail")))

    reports = await asyncio.gather(*(deliver(app, sender, batch=7) for _ in range(20)))

    assert sum(r.sent for r in reports) == 300
    assert sum(r.retried + r.failed for r in reports) == 0
    assert sum(1 for r in reports if r.sent) > 1  # they did share the work
    if kind == "smtp":
        assert server.message_ids() == Counter({f"<{i}@privacy-api>": 1 for i in ids})
    else:
        assert sender.handed == Counter(ids)
        assert len(os.listdir(tmp_path / "mail")) == 300
    assert all(r.sent_at is not None for r in (await stored(session)).values())


# Shutdown

async def test_a_cancelled_batch_records_what_it_sent_and_releases_the_rest(app, session):
    ids = await queue(app, 5)
    halfway = asyncio.Event()
    sent: list[str] = []

    class Stalls(BatchSender):
        async def send_many(self, mails, outcomes, *, may_start):
            for mail in mails[:2]:
                outcomes[mail.id] = None
                sent.append(mail.id)
            halfway.set()
            await asyncio.Event().wait()  # the server shuts down before the rest

    task = asyncio.create_task(deliver(app, Stalls()))
    await halfway.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    rows = await stored(session)
    assert sorted(i for i in ids if rows[i].sent_at is not None) == sorted(sent)
    assert all(rows[i].claimed_until is None and rows[i].attempts == 0
               for i in ids if i not in sent)
