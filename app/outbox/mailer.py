"""Senders of outbox mail: an SMTP server, or a folder of .eml files for development; and the
sender that hands each message to its channel's sender."""

import asyncio
from collections.abc import Callable, Sequence

import httpx

from app.core.config import Settings
from app.outbox.folder import FolderSender
from app.outbox.models import EMAIL, SMS
from app.outbox.outgoing import BatchSender, Outcomes, OutgoingMail, Sender, send_all
from app.outbox.sms import sms_sender_from_settings
from app.outbox.smtp import SmtpSender

__all__ = ["ChannelSender", "FolderSender", "OutgoingMail", "Sender", "SmtpSender",
           "UnknownChannel", "mail_sender_from_settings", "sender_from_settings"]


class UnknownChannel(ValueError):
    """An outbox message names a channel no sender is configured for."""


class ChannelSender(BatchSender):
    """Hands each message to the sender of its channel (email, sms)."""

    def __init__(self, senders: dict[str, Sender]) -> None:
        self.senders = senders

    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        """Send each channel's mails through its sender, the channels side by side; a mail
        of any other channel fails with `UnknownChannel`."""
        by_channel: dict[str, list[OutgoingMail]] = {}
        for mail in mails:
            if mail.channel in self.senders:
                by_channel.setdefault(mail.channel, []).append(mail)
            else:
                outcomes[mail.id] = UnknownChannel(mail.channel)
        await asyncio.gather(*(send_all(self.senders[channel], batch, outcomes,
                                        may_start=may_start)
                               for channel, batch in by_channel.items()))


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
