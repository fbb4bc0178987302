"""Partner rows (the registry) and the signed webhooks waiting to reach them."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow

SECRET = "partner.secret"
PREVIOUS_SECRET = "partner.previous_secret"


class PartnerKind(StrEnum):
    """What a partner does for the shop."""

    LOGISTICS = "logistics"
    PAYMENT = "payment"


class WebhookEvent(StrEnum):
    """What a webhook asks of or tells a partner."""

    DESTROY = "shipment.destroy"
    ERASED = "customer.erased"
    CORRECTED = "customer.corrected"


class Partner(Base):
    """A partner under a data-sharing agreement; its id is the `partner_id` of its tokens.

    Active while not suspended and today is within the agreement's dates. The signing
    secret is stored encrypted; after a rotation the previous one still signs until
    `previous_secret_until`.
    """

    __tablename__ = "partner"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(200))
    agreement_reference: Mapped[str] = mapped_column(String(100))
    agreement_starts_on: Mapped[date] = mapped_column(Date)
    agreement_ends_on: Mapped[date] = mapped_column(Date)
    webhook_url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerWebhook(Base):
    """A signed notice to a partner, inserted with the change it announces (outbox pattern).

    Pending while `sent_at` and `failed_at` are empty; `claimed_until` is the lease of the
    dispatcher sending it. `confirmed_at` is when the partner confirmed it acted on it.
    """

    __tablename__ = "partner_webhook"

    id: Mapped[str] = id_column()
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    order_number: Mapped[str | None] = mapped_column(String(40), index=True)
    order_numbers: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
