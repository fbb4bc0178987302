"""A legal disclosure of a customer's data to an authority."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class LegalDisclosure(Base):
    """What was disclosed to which authority, on what basis, and when the customer was told.

    `notify_after` is the end of a legal bar on telling the customer (None: tell at once);
    `notified_at` is when the customer was told; only from then on do they see it.
    """

    __tablename__ = "legal_disclosure"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    authority: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list[str]] = mapped_column(JSON)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notify_after: Mapped[date | None] = mapped_column(Date)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_legal_disclosure_pending", "notified_at", "notify_after"),
        Index("ix_legal_disclosure_time", "disclosed_at", "id"),
    )
