"""The complaint row; subject, body and answer are encrypted."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class ComplaintKind(StrEnum):
    """A complaint about rights, or a plain inquiry; both get an answer in 3 business days."""

    COMPLAINT = "complaint"
    INQUIRY = "inquiry"


UNANSWERED = "answered_at IS NULL"


class Complaint(Base):
    """A customer's complaint or inquiry and, once given, the answer."""

    __tablename__ = "complaint"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    subject_enc: Mapped[str | None] = mapped_column(Text)
    body_enc: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_enc: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_complaint_answered_due", "answered_at", "due_at"),
        # the customer's own complaints, oldest first (and the foreign key's deletes)
        Index("ix_complaint_customer_received", "customer_id", "received_at", "id"),
        # staff's lists: all, the unanswered ones (oldest first), the overdue ones (by due date)
        Index("ix_complaint_received", "received_at", "id"),
        Index("ix_complaint_unanswered_received", "received_at", "id",
              postgresql_where=text(UNANSWERED), sqlite_where=text(UNANSWERED)),
        Index("ix_complaint_unanswered_due", "due_at", "id",
              postgresql_where=text(UNANSWERED), sqlite_where=text(UNANSWERED)),
    )
