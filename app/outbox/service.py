"""Putting an email or SMS into the outbox, in the same transaction as the change it announces."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import Keys
from app.core.db import new_id, utcnow
from app.outbox import repository
from app.outbox.models import BODY, CHANNELS, EMAIL, RECIPIENT, SUBJECT, OutboxMessage

KIND_LENGTH = 40


def message_values(keys: Keys, *, kind: str, to: str, subject: str, body: str,
                   customer_id: str | None = None, channel: str = EMAIL,
                   not_before: datetime | None = None) -> dict:
    """The column values of a new outbox message, encrypted; raises ValueError if invalid."""
    if not kind or len(kind) > KIND_LENGTH:
        raise ValueError(f"outbox kind must be 1 to {KIND_LENGTH} characters")
    if channel not in CHANNELS:
        raise ValueError(f"outbox channel must be one of {', '.join(CHANNELS)}")
    for name, value in (("recipient", to), ("subject", subject)):
        if not value.strip() or "\r" in value or "\n" in value:
            raise ValueError(f"outbox {name} must be one non-empty line")
    cipher, row_id = keys.cipher, new_id()
    now = utcnow()
    return {"id": row_id, "kind": kind, "channel": channel, "customer_id": customer_id,
            "recipient_enc": cipher.encrypt(to, context=RECIPIENT, row_id=row_id),
            "subject_enc": cipher.encrypt(subject, context=SUBJECT, row_id=row_id),
            "body_enc": cipher.encrypt(body, context=BODY, row_id=row_id),
            "created_at": now, "attempts": 0, "next_attempt_at": not_before or now}


async def enqueue(session: AsyncSession, keys: Keys, *, kind: str, to: str, subject: str,
                  body: str, customer_id: str | None = None, channel: str = EMAIL) -> str:
    """Add an email (or SMS) to the outbox and flush (the caller commits); return its id.

    Nothing is sent unless the caller's transaction commits. Recipient, subject and body are
    stored encrypted; `customer_id` lets a deletion drop the customer's unsent mail.
    """
    message = OutboxMessage(**message_values(keys, kind=kind, to=to, subject=subject, body=body,
                                             customer_id=customer_id, channel=channel))
    await repository.add(session, message)
    return message.id


async def forget_unsent(session: AsyncSession, customer_id: str) -> None:
    """Drop a customer's mail that was not sent yet (their data is being deleted)."""
    await session.execute(delete(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.sent_at.is_(None)))
