"""partners, webhooks, legal disclosures, delivery promises

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("agreement_reference", sa.String(length=100), nullable=False),
        sa.Column("agreement_starts_on", sa.Date(), nullable=False),
        sa.Column("agreement_ends_on", sa.Date(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
    )
    op.create_table(
        "legal_disclosure",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notify_after", sa.Date(), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_legal_disclosure_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_disclosure")),
    )
    with op.batch_alter_table("legal_disclosure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legal_disclosure_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_legal_disclosure_pending", ["notified_at", "notify_after"], unique=False
        )
        batch_op.create_index("ix_legal_disclosure_time", ["disclosed_at", "id"], unique=False)

    op.create_table(
        "partner_webhook",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("order_numbers", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_partner_webhook_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_webhook")),
    )
    with op.batch_alter_table("partner_webhook", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_webhook_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_webhook_order_number"), ["order_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_webhook_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_webhook_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ship_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deliver_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deliver_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_shop_order_status_ship_by", ["fulfilment_status", "ship_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_order_status_ship_by")
        batch_op.drop_column("deliver_by")
        batch_op.drop_column("deliver_from")
        batch_op.drop_column("ship_by")

    with op.batch_alter_table("partner_webhook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_webhook_request_id"))
        batch_op.drop_index(batch_op.f("ix_partner_webhook_partner_id"))
        batch_op.drop_index(batch_op.f("ix_partner_webhook_order_number"))
        batch_op.drop_index(batch_op.f("ix_partner_webhook_next_attempt_at"))

    op.drop_table("partner_webhook")
    with op.batch_alter_table("legal_disclosure", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_disclosure_time")
        batch_op.drop_index("ix_legal_disclosure_pending")
        batch_op.drop_index(batch_op.f("ix_legal_disclosure_customer_id"))

    op.drop_table("legal_disclosure")
    op.drop_table("partner")
