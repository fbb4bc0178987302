"""Senders of outbox mail: an SMTP server, or a folder of .eml files for development; and the
sender that hands each message to its channel's sender."""

import asyncio
import os
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

import aiosmtplib
import httpx

from app.core.config import Settings
from app.core.db import utcnow
from app.outbox.models import EMAIL, SMS
from app.outbox.sms import sms_sender_from_settings

SMTP_TIMEOUT_SECONDS = 10.0
MESSAGE_ID_DOMAIN = "privacy-api"


@dataclass(frozen=True)
class OutgoingMail:
    """A decrypted outbox message, ready to hand to a sender; `channel` is email or sms."""

    id: str
    to: str
    subject: str
    body: str
    channel: str = EMAIL

    @property
    def message_id(self) -> str:
        """The Message-ID header: stable per outbox row, so receivers can drop duplicates."""
        return f"<{self.id}@{MESSAGE_ID_DOMAIN}>"


class Sender(Protocol):
    """Delivers one mail or raises."""

    async def send(self, mail: OutgoingMail) -> None: ...


def build_message(mail: OutgoingMail, mail_from: str) -> EmailMessage:
    """The RFC 5322 message of an outbox mail."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = mail.message_id
    message.set_content(mail.body)
    return message


class SmtpSender:
    """Sends through the configured SMTP server, one connection per message."""

    def __init__(self, settings: Settings, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self._from = settings.mail_from
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._starttls = settings.smtp_starttls
        self._timeout = timeout

    async def send(self, mail: OutgoingMail) -> None:
        """Hand the message to the server; raises an aiosmtplib error if it is not accepted."""
        await aiosmtplib.send(
            build_message(mail, self._from), hostname=self._host, port=self._port,
            username=self._username,
            password=self._password.get_secret_value() if self._password else None,
            start_tls=self._starttls, timeout=self._timeout)


class FolderSender:
    """Writes each message to `<folder>/<id>.eml` for a developer to read."""

    def __init__(self, folder: Path, *, mail_from: str = "service@localhost") -> None:
        self.folder = Path(folder)
        self._from = mail_from

    async def send(self, mail: OutgoingMail) -> None:
        """Write the message atomically; writing the same id again replaces the file."""
        data = build_message(mail, self._from).as_bytes()
        await asyncio.to_thread(self._write, f"{mail.id}.eml", data)

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.folder / f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.folder / name)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


class UnknownChannel(ValueError):
    """An outbox message names a channel no sender is configured for."""


class ChannelSender:
    """Hands each message to the sender of its channel (email, sms)."""

    def __init__(self, senders: dict[str, Sender]) -> None:
        self.senders = senders

    async def send(self, mail: OutgoingMail) -> None:
        """Send through the channel's sender; raises `UnknownChannel` for any other channel."""
        sender = self.senders.get(mail.channel)
        if sender is None:
            raise UnknownChannel(mail.channel)
        await sender.send(mail)


def mail_sender_from_settings(settings: Settings) -> Sender:
    """SMTP when a server is configured, otherwise the mail folder."""
    if settings.smtp_host:
        return SmtpSender(settings)
    assert settings.mail_dir is not None  # filled by the settings' validator
    return FolderSender(settings.mail_dir, mail_from=settings.mail_from)


def sender_from_settings(settings: Settings, *, http: httpx.AsyncClient | None = None
                         ) -> ChannelSender:
    """Email as configured, SMS through the gateway (needs `http`) or to the SMS folder."""
    return ChannelSender({EMAIL: mail_sender_from_settings(settings),
                          SMS: sms_sender_from_settings(settings, http=http)})
