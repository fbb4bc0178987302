"""retention: legal holds

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    op.create_index("ix_legal_hold_customer_id", "legal_hold", ["customer_id"])
    op.create_index("ix_legal_hold_order_number", "legal_hold", ["order_number"])


def downgrade() -> None:
    op.drop_index("ix_legal_hold_order_number", table_name="legal_hold")
    op.drop_index("ix_legal_hold_customer_id", table_name="legal_hold")
    op.drop_table("legal_hold")
