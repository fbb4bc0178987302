"""A decrypted outbox message and the senders it is handed to: one at a time (`Sender`), or a
batch at once (`BatchSender`), each message's outcome recorded on its own."""

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.outbox.models import EMAIL

MESSAGE_ID_DOMAIN = "privacy-api"
CONCURRENCY = 32
"""Messages in flight at once through a sender that sends one at a time (the SMS gateway)."""

Outcomes = dict[str, Exception | None]
"""Per message id: None once sent, or why sending failed; a message not tried has no entry."""


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


class BatchSender(ABC):
    """Delivers a batch of mails at once; a failing mail does not fail the others."""

    @abstractmethod
    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        """Send `mails`, putting each tried mail's outcome into `outcomes` as soon as it is
        known (so a cancelled batch still tells what went out); a mail is not started once
        `may_start()` answers False."""

    async def send(self, mail: OutgoingMail) -> None:
        """Deliver one mail; raises what sending it raised."""
        outcomes: Outcomes = {}
        await self.send_many([mail], outcomes, may_start=lambda: True)
        error = outcomes[mail.id]
        if error is not None:
            raise error


async def send_all(sender: Sender, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                   may_start: Callable[[], bool], concurrency: int = CONCURRENCY) -> None:
    """Send `mails` through any sender: its batch path if it has one, otherwise one `send`
    per mail with at most `concurrency` in flight. Outcomes as in `BatchSender.send_many`."""
    if isinstance(sender, BatchSender):
        await sender.send_many(mails, outcomes, may_start=may_start)
        return
    slots = asyncio.Semaphore(concurrency)

    async def send_one(mail: OutgoingMail) -> None:
        async with slots:
            if not may_start():
                return
            try:
                await sender.send(mail)
            except Exception as exc:
                outcomes[mail.id] = exc
            else:
                outcomes[mail.id] = None

    await asyncio.gather(*(send_one(mail) for mail in mails))
