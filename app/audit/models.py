"""Audit entries and the head of their hash chain."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, new_id


class AuditEntry(Base):
    """One read or write of personal data: who, what, why; never the values.

    On PostgreSQL the table is range-partitioned by month on `occurred_at` (migration 0008),
    so the primary key includes it and `seq` cannot be declared unique across partitions: the
    sealer's compare-and-set on the head keeps it gapless and unique, and verify checks that.
    """

    __tablename__ = "audit_entry"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str | None] = mapped_column(String(36))
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[list[str]] = mapped_column(JSON)
    request_id: Mapped[str] = mapped_column(String(64))
    entry_mac: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entry_unsealed", "occurred_at", "id",
              postgresql_where=seq.is_(None), sqlite_where=seq.is_(None)),
        Index("ix_audit_entry_seq", "seq"),
        Index("ix_audit_entry_time", "occurred_at", "id"),
        Index("ix_audit_entry_subject_time", "subject_id", "occurred_at", "id"),
        Index("ix_audit_entry_actor_time", "actor_id", "occurred_at", "id"),
        Index("ix_audit_entry_role_time", "actor_role", "occurred_at", "id"),
        Index("ix_audit_entry_purpose_time", "purpose", "occurred_at", "id"),
        Index("ix_audit_entry_resource_time", "resource", "resource_id", "occurred_at", "id"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )


class AuditChainHead(Base):
    """The last sealed link of the chain; a single row, updated only by the sealer."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
