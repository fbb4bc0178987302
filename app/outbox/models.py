"""The outbox row: one email or SMS waiting to be sent; recipient, subject and body are
encrypted."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow

RECIPIENT = "outbox_message.recipient"
SUBJECT = "outbox_message.subject"
BODY = "outbox_message.body"
EMAIL, SMS = "email", "sms"
CHANNELS = (EMAIL, SMS)


class OutboxMessage(Base):
    """An outgoing email or SMS (`channel`) and its delivery state.

    Pending while `sent_at` and `failed_at` are empty; once sent, recipient and text are
    erased and only the delivery record stays; `claimed_until` is the lease of the
    dispatcher currently sending it, so replicas never send the same message at the same time.
    """

    __tablename__ = "outbox_message"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10), default=EMAIL, server_default=EMAIL)
    customer_id: Mapped[str | None] = mapped_column(String(36), index=True)
    recipient_enc: Mapped[str | None] = mapped_column(Text)
    subject_enc: Mapped[str | None] = mapped_column(Text)
    body_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(100))
