"""The privacy request row: one exercise of a customer's rights, from receipt to outcome."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class RequestType(StrEnum):
    """Which right the customer exercises."""

    ACCESS = "access"
    CORRECTION = "correction"
    DELETION = "deletion"
    CONSENT_WITHDRAWAL = "consent_withdrawal"


class RequestState(StrEnum):
    """Lifecycle: awaiting_verification -> verified -> completed, or rejected with a reason."""

    AWAITING_VERIFICATION = "awaiting_verification"
    VERIFIED = "verified"
    COMPLETED = "completed"
    REJECTED = "rejected"


OPEN_STATES = (RequestState.AWAITING_VERIFICATION, RequestState.VERIFIED)
OPEN_PREDICATE = "state IN ('awaiting_verification', 'verified')"


class PrivacyRequest(Base):
    """A customer's request; the due date runs from identity verification."""

    __tablename__ = "privacy_request"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(30))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(500))  # the service's own words
    rejection_reason_enc: Mapped[str | None] = mapped_column(Text)  # staff's words, encrypted
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    changes_enc: Mapped[str | None] = mapped_column(Text)
    purposes: Mapped[list[str] | None] = mapped_column(JSON)
    outcome: Mapped[dict | None] = mapped_column(JSON)
    filed_by_role: Mapped[str] = mapped_column(String(40))
    filed_by_id: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_privacy_request_customer_type_state", "customer_id", "type", "state"),
        Index("uq_privacy_request_open_customer_type", "customer_id", "type", unique=True,
              postgresql_where=text(OPEN_PREDICATE), sqlite_where=text(OPEN_PREDICATE)),
        # the officer's lists: equality columns first, then the list's order (see listed())
        Index("ix_privacy_request_received", "received_at", "id"),
        Index("ix_privacy_request_state_received", "state", "received_at", "id"),
        Index("ix_privacy_request_type_received", "type", "received_at", "id"),
        Index("ix_privacy_request_state_type_received", "state", "type", "received_at", "id"),
        Index("ix_privacy_request_open_due", "due_at", "id",
              postgresql_where=text(OPEN_PREDICATE), sqlite_where=text(OPEN_PREDICATE)),
    )


def is_open() -> ColumnElement[bool]:
    """Still open, with the states written out as in the partial indexes' predicate: a planner
    proves a query may use such an index only from literal values, never from parameters."""
    return PrivacyRequest.state.in_(bindparam(
        "open_states", [str(s) for s in OPEN_STATES], expanding=True, literal_execute=True))


class GuardScope(StrEnum):
    """Whose wrong codes a guard counts."""

    CUSTOMER = "customer"
    ACTOR = "actor"


class VerificationGuard(Base):
    """Wrong verification codes of one customer (or one caller), across all requests, and the
    lockout they earned; one row per customer or caller."""

    __tablename__ = "verification_guard"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(250), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_verification_guard_locked_at", "locked_at"),)
