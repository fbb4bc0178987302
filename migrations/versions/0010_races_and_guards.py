"""verification guards, one open request per customer and type, destruction confirmed once

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN = "state IN ('awaiting_verification', 'verified')"
DUPLICATE_OPEN = f"""
UPDATE privacy_request SET state = 'rejected', rejected_at = CURRENT_TIMESTAMP, code_hash = NULL,
    rejection_reason = 'Filed twice; the newest open request of this type was kept.'
WHERE {OPEN} AND EXISTS (
    SELECT 1 FROM privacy_request newer
    WHERE newer.customer_id = privacy_request.customer_id AND newer.type = privacy_request.type
      AND newer.{OPEN}
      AND (newer.received_at > privacy_request.received_at
           OR (newer.received_at = privacy_request.received_at
               AND newer.id > privacy_request.id)))
"""


def upgrade() -> None:
    op.create_table(
        "verification_guard",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("actor_role", sa.String(length=40), nullable=True),
        sa.Column("actor_id", sa.String(length=200), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_verification_guard_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_guard")),
        sa.UniqueConstraint("key", name=op.f("uq_verification_guard_key")),
    )
    op.create_index("ix_verification_guard_locked_at", "verification_guard", ["locked_at"])
    op.execute(DUPLICATE_OPEN)
    op.create_index("uq_privacy_request_open_customer_type", "privacy_request",
                    ["customer_id", "type"], unique=True,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.add_column("shop_order", sa.Column("ship_to_destroyed_at", sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shop_order") as batch:
        batch.drop_column("ship_to_destroyed_at")
    op.drop_index("uq_privacy_request_open_customer_type", table_name="privacy_request")
    op.drop_index("ix_verification_guard_locked_at", table_name="verification_guard")
    op.drop_table("verification_guard")
