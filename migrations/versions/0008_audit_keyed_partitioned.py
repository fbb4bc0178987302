"""audit: keyed entry MACs, a composite key, monthly partitions on PostgreSQL, query indexes

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-28

The entries are kept. Their unkeyed SHA-256 hashes are replaced by HMACs under
PRIVACY_AUDIT_KEY (read from settings, as the app will: run the migration with the app's
settings), and the chain is reset so the sealer links every entry again under the key. Verify
the old chain (`privacy-api audit verify` of the previous release) before upgrading: the
migration vouches for the entries as it finds them.
"""

import hashlib
import hmac
import json
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
HASHED = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action", "subject_id",
          "resource", "resource_id", "fields", "request_id")
CONTENT = ", ".join(HASHED)
MONTHS_AHEAD = 12
BATCH = 5000
UNSEALED = sa.text("seq IS NULL")
INDEXES = {
    "ix_audit_entry_seq": ["seq"],
    "ix_audit_entry_time": ["occurred_at", "id"],
    "ix_audit_entry_subject_time": ["subject_id", "occurred_at", "id"],
    "ix_audit_entry_actor_time": ["actor_id", "occurred_at", "id"],
    "ix_audit_entry_role_time": ["actor_role", "occurred_at", "id"],
    "ix_audit_entry_purpose_time": ["purpose", "occurred_at", "id"],
    "ix_audit_entry_resource_time": ["resource", "resource_id", "occurred_at", "id"],
}


def _columns(mac_column: str) -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column(mac_column, sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("chain_hash", sa.String(length=64), nullable=True),
    ]


def _canonical(row) -> bytes:
    values = []
    for name in HASHED:
        value = row[name]
        if isinstance(value, datetime):
            value = (value.replace(tzinfo=UTC) if value.tzinfo is None
                     else value.astimezone(UTC)).isoformat()
        values.append(value)
    return json.dumps(values, separators=(",", ":")).encode()


def _restamp(column: str, stamp) -> None:
    """Recompute `column` of every entry with `stamp(canonical bytes)`, in keyset batches."""
    bind = op.get_bind()
    types = {"occurred_at": sa.DateTime(timezone=True), "fields": sa.JSON()}
    table = sa.table("audit_entry", *[sa.column(c, types.get(c)) for c in (*HASHED, column)])
    position = None
    while True:
        query = sa.select(*[table.c[c] for c in HASHED]).order_by(
            table.c.occurred_at, table.c.id).limit(BATCH)
        if position:
            query = query.where(sa.tuple_(table.c.occurred_at, table.c.id) > position)
        rows = bind.execute(query).mappings().all()
        if not rows:
            return
        bind.execute(
            table.update().where(table.c.id == sa.bindparam("row_id"),
                                 table.c.occurred_at == sa.bindparam("row_at"))
            .values({column: sa.bindparam("stamp")}),
            [{"row_id": r["id"], "row_at": r["occurred_at"], "stamp": stamp(_canonical(r))}
             for r in rows])
        position = (rows[-1]["occurred_at"], rows[-1]["id"])


def _reset_chain() -> None:
    op.execute("UPDATE audit_entry SET seq = NULL, chain_hash = NULL")
    op.execute(f"UPDATE audit_chain_head SET last_seq = 0, last_hash = '{GENESIS_HASH}'")


def _month(day: date, plus: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + plus
    return date(index // 12, index % 12 + 1, 1)


def _create_partitions(first: date) -> None:
    op.execute("CREATE TABLE audit_entry_default PARTITION OF audit_entry DEFAULT")
    month, last = _month(first), _month(datetime.now(UTC).date(), MONTHS_AHEAD)
    while month <= last:
        after = _month(month, 1)
        op.execute(f"CREATE TABLE audit_entry_p{month.year:04d}_{month.month:02d} PARTITION OF "
                   f"audit_entry FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
                   f"TO ('{after.isoformat()} 00:00:00+00')")
        month = after


def _create_indexes() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_entry", columns)
    op.create_index("ix_audit_entry_unsealed", "audit_entry", ["occurred_at", "id"],
                    postgresql_where=UNSEALED, sqlite_where=UNSEALED)


def _audit_key() -> bytes:
    from app.core.config import Settings, resolve_secrets

    return resolve_secrets(Settings()).audit_key.get_secret_value().encode()


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_audit_entry_unsealed", table_name="audit_entry",
                  postgresql_where=UNSEALED, sqlite_where=UNSEALED)
    op.drop_index("ix_audit_entry_subject_time", table_name="audit_entry")
    op.rename_table("audit_entry", "audit_entry_0003")
    if postgres:
        op.execute("ALTER INDEX pk_audit_entry RENAME TO pk_audit_entry_0003")
        op.execute("ALTER TABLE audit_entry_0003 DROP CONSTRAINT uq_audit_entry_seq")
    op.create_table("audit_entry", *_columns("entry_mac"),
                    sa.PrimaryKeyConstraint("id", "occurred_at", name="pk_audit_entry"),
                    postgresql_partition_by="RANGE (occurred_at)")
    first = op.get_bind().scalar(sa.text("SELECT min(occurred_at) FROM audit_entry_0003"))
    if postgres:
        _create_partitions(first or datetime.now(UTC))
    op.execute(f"INSERT INTO audit_entry ({CONTENT}, entry_mac) "
               f"SELECT {CONTENT}, entry_hash FROM audit_entry_0003")
    op.drop_table("audit_entry_0003")
    _create_indexes()
    if first is not None:
        key = _audit_key()
        _restamp("entry_mac", lambda canonical: hmac.new(
            key, b"entry:" + canonical, hashlib.sha256).hexdigest())
    _reset_chain()


def downgrade() -> None:
    for name in (*INDEXES, "ix_audit_entry_unsealed"):
        op.drop_index(name, table_name="audit_entry")
    op.rename_table("audit_entry", "audit_entry_0008")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX pk_audit_entry RENAME TO pk_audit_entry_0008")
    op.create_table("audit_entry", *_columns("entry_hash"),
                    sa.PrimaryKeyConstraint("id", name="pk_audit_entry"),
                    sa.UniqueConstraint("seq", name="uq_audit_entry_seq"))
    op.execute(f"INSERT INTO audit_entry ({CONTENT}, entry_hash) "
               f"SELECT {CONTENT}, entry_mac FROM audit_entry_0008")
    op.execute("DROP TABLE audit_entry_0008 CASCADE" if op.get_bind().dialect.name ==
               "postgresql" else "DROP TABLE audit_entry_0008")
    op.create_index("ix_audit_entry_subject_time", "audit_entry",
                    ["subject_id", "occurred_at", "id"])
    op.create_index("ix_audit_entry_unsealed", "audit_entry", ["occurred_at", "id"],
                    postgresql_where=UNSEALED, sqlite_where=UNSEALED)
    _restamp("entry_hash", lambda canonical: hashlib.sha256(canonical).hexdigest())
    _reset_chain()
