"""Sending outbox mail to an SMTP server over a few connections kept open for a batch.

A batch is carried by up to `smtp_connections` connections at once, each sending one message
after another (MAIL, RCPT, DATA), instead of a connection, EHLO and QUIT per message. A
connection the server refused a message on stays in use (the client reset the envelope); one
that broke or timed out is dropped, and the next message opens a new one. Connections end with
the batch (QUIT), so none sits idle long enough for the server to drop it.
"""

import asyncio
from collections.abc import Callable, Sequence
from email.utils import format_datetime, parseaddr

import aiosmtplib

from app.core.config import Settings
from app.core.db import utcnow
from app.outbox.outgoing import BatchSender, Outcomes, OutgoingMail
from app.outbox.rendering import needs_smtputf8, render

SMTP_TIMEOUT_SECONDS = 10.0
KEEPS_CONNECTION = (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused,
                    aiosmtplib.SMTPNotSupported, ValueError)
"""Failures after which the connection is still in a known state: the server answered."""


class SmtpSender(BatchSender):
    """Sends through the configured SMTP server, a batch over a few kept-open connections."""

    def __init__(self, settings: Settings, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self._from = settings.mail_from
        self._envelope_from = parseaddr(settings.mail_from)[1] or settings.mail_from
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._starttls = settings.smtp_starttls
        self._timeout = timeout
        self.connections = settings.smtp_connections

    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        """Hand each message to the server; a message it does not accept gets the
        aiosmtplib error (SMTPConnectError, SMTPDataError, ...) as its outcome."""
        date = format_datetime(utcnow())
        queue = iter(mails)  # shared: each connection takes the next message when it is free

        async def carry() -> None:
            smtp: aiosmtplib.SMTP | None = None
            try:
                for mail in queue:
                    if not may_start():
                        return
                    try:
                        if smtp is None:
                            smtp = await self._connect()
                        await smtp.sendmail(
                            self._envelope_from, [mail.to],
                            render(mail, mail_from=self._from, date=date),
                            mail_options=(["SMTPUTF8"]
                                          if needs_smtputf8(self._envelope_from, mail.to)
                                          else []))
                    except Exception as exc:
                        outcomes[mail.id] = exc
                        if smtp is not None and not (isinstance(exc, KEEPS_CONNECTION)
                                                     and smtp.is_connected):
                            smtp.close()
                            smtp = None
                    else:
                        outcomes[mail.id] = None
            finally:
                if smtp is not None:
                    await _quit(smtp)

        await asyncio.gather(*(carry() for _ in range(min(self.connections, len(mails)))))

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self._host, port=self._port, username=self._username,
            password=self._password.get_secret_value() if self._password else None,
            start_tls=self._starttls, timeout=self._timeout)
        await smtp.connect()
        return smtp


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):  # what was sent is sent; just let go
        smtp.close()
