"""Policy versions, the notices sent about them and what customers saw or accepted."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class AcceptanceKind(StrEnum):
    """What the storefront saw the customer do with a version."""

    SEEN = "seen"
    ACCEPTED = "accepted"


class PolicyVersion(Base):
    """A published policy version. Its content never changes (a database trigger refuses it);
    only `withdrawn_at` (before it takes effect) and `notices_done_at` are ever set later."""

    __tablename__ = "policy_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    significant: Mapped[bool] = mapped_column(Boolean)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notices_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PolicyNotice(Base):
    """That one customer was sent (or is about to be sent) the notice of one version.

    Written in the same transaction as the outbox message, and unique per version and
    customer, so a notice run that crashes and resumes never notifies anyone twice.
    """

    __tablename__ = "policy_notice"

    id: Mapped[str] = id_column()
    version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             index=True)
    channel: Mapped[str] = mapped_column(String(10))
    outbox_message_id: Mapped[str | None] = mapped_column(String(36))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("version", "customer_id",
                                       name="uq_policy_notice_version_customer"),)


class PolicyAcceptance(Base):
    """That a customer saw or accepted a version, as the storefront recorded it."""

    __tablename__ = "policy_acceptance"

    id: Mapped[str] = id_column()
    version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_role: Mapped[str] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("customer_id", "version", "kind",
                                       name="uq_policy_acceptance_customer_version_kind"),)

