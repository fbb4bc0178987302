"""The customer row; personal values are stored encrypted."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class Customer(Base):
    """A shop customer. Email is found through its keyed blind index, never in plaintext.

    After deletion only a tombstone stays (id and times), so kept orders still add up.
    """

    __tablename__ = "customer"

    id: Mapped[str] = id_column()
    name_enc: Mapped[str | None] = mapped_column(Text)
    email_enc: Mapped[str | None] = mapped_column(Text)
    email_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
