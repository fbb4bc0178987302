"""Audit entries and the head of their hash chain."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column


class AuditEntry(Base):
    """One read or write of personal data: who, what, why; never the values."""

    __tablename__ = "audit_entry"

    id: Mapped[str] = id_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str | None] = mapped_column(String(36))
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entry_unsealed", "occurred_at", "id",
              postgresql_where=seq.is_(None), sqlite_where=seq.is_(None)),
        Index("ix_audit_entry_subject_time", "subject_id", "occurred_at", "id"),
    )


class AuditChainHead(Base):
    """The last sealed link of the chain; a single row, updated only by the sealer."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
