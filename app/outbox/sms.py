"""Senders of outbox SMS: an HTTP SMS gateway, or a folder of .txt files for development.

The gateway gets `POST <url>` with JSON `{"id", "to", "text"}`, an `Idempotency-Key` equal to
the outbox message id (so it can drop a repeat after an at-least-once retry) and, when a token
is configured, `Authorization: Bearer <token>`. Any 2xx is accepted; anything else raises.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from app.core.config import Settings
from app.outbox.folder import write_batch
from app.outbox.outgoing import BatchSender, Outcomes, OutgoingMail, Sender


class SmsRejected(Exception):
    """The gateway answered with a non-2xx status (the status is the message, never the text)."""


class SmsGatewaySender:
    """Posts each SMS to the configured HTTP gateway through a shared httpx client."""

    def __init__(self, url: str, http: httpx.AsyncClient, *, token: str | None = None) -> None:
        self._url = url
        self._http = http
        self._token = token

    async def send(self, mail: OutgoingMail) -> None:
        """Hand the SMS to the gateway; raises `SmsRejected` or an httpx error if not accepted."""
        headers = {"Idempotency-Key": mail.id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        response = await self._http.post(
            self._url, json={"id": mail.id, "to": mail.to, "text": mail.body}, headers=headers)
        if not response.is_success:
            raise SmsRejected(f"gateway answered {response.status_code}")


class SmsFolderSender(BatchSender):
    """Writes each SMS to `<folder>/<id>.txt` (a `To:` line, a blank line, the text)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        """Write the batch as the mail folder does; the same id again replaces the file."""
        if mails and may_start():
            await write_batch(self.folder, mails, outcomes, suffix=".txt",
                              content=lambda mail: f"To: {mail.to}\n\n{mail.body}\n".encode())


def sms_sender_from_settings(settings: Settings, *, http: httpx.AsyncClient | None) -> Sender:
    """The gateway when one is configured (and a client is given), otherwise the SMS folder."""
    if settings.sms_gateway_url:
        if http is None:
            raise ValueError("an SMS gateway needs an httpx client")
        token = settings.sms_gateway_token
        return SmsGatewaySender(settings.sms_gateway_url, http,
                                token=token.get_secret_value() if token else None)
    assert settings.sms_dir is not None  # filled by the settings' validator
    return SmsFolderSender(settings.sms_dir)
