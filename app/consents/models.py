"""Consent events: the latest one per customer and purpose is the current state."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class ConsentEvent(Base):
    """A grant or withdrawal of consent; never updated, so the history stays."""

    __tablename__ = "consent_event"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_role: Mapped[str] = mapped_column(String(40))
    policy_version: Mapped[int | None] = mapped_column(Integer, ForeignKey(
        "policy_version.version"))  # the policy in effect when the consent was given

    __table_args__ = (Index("ix_consent_event_customer_purpose_time", "customer_id", "purpose",
                            "changed_at"),)
