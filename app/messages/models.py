"""The communication record row; subject and body are encrypted."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class Channel(StrEnum):
    """How the customer and the shop talked."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    WEB_FORM = "web_form"


class Direction(StrEnum):
    """Who wrote: the customer (inbound) or customer service (outbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Message(Base):
    """One message between a customer and customer service."""

    __tablename__ = "message"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             index=True)
    order_number: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    subject_enc: Mapped[str | None] = mapped_column(Text)
    body_enc: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
