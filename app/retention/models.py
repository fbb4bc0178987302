"""The legal hold row: a customer's or an order's data kept past its retention period."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class LegalHold(Base):
    """A hold placed by the privacy officer; active until lifted or until `until` passes.

    Without `order_number` the hold covers all of the customer's data; with one, that order.
    """

    __tablename__ = "legal_hold"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(String(36))
    order_number: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    placed_by: Mapped[str] = mapped_column(String(200))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_legal_hold_customer_id", "customer_id"),
        Index("ix_legal_hold_order_number", "order_number"),
    )
