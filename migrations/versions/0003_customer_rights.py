"""customer rights: requests, consents, complaints; erasable identity and ship-to

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SENT_MAIL_TEXT = ("recipient_enc", "subject_enc", "body_enc")


def upgrade() -> None:
    op.create_table(
        "consent_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_consent_event_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    op.create_index("ix_consent_event_customer_purpose_time", "consent_event",
                    ["customer_id", "purpose", "changed_at"])
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=30), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("changes_enc", sa.Text(), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("filed_by_role", sa.String(length=40), nullable=False),
        sa.Column("filed_by_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_privacy_request_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_request")),
    )
    op.create_index("ix_privacy_request_customer_type_state", "privacy_request",
                    ["customer_id", "type", "state"])
    op.create_index("ix_privacy_request_state_due", "privacy_request", ["state", "due_at"])
    op.create_table(
        "complaint",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_enc", sa.Text(), nullable=True),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_enc", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_complaint_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    op.create_index("ix_complaint_answered_due", "complaint", ["answered_at", "due_at"])
    op.create_index("ix_complaint_customer_id", "complaint", ["customer_id"])
    with op.batch_alter_table("customer") as batch:
        for column in ("name_enc", "email_enc"):
            batch.alter_column(column, existing_type=sa.Text(), nullable=True)
        batch.alter_column("email_index", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("shop_order") as batch:
        for column in ("ship_recipient_name_enc", "ship_street_enc", "ship_house_number_enc"):
            batch.alter_column(column, existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("pseudonymized_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erase_ship_to_on_arrival", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("outbox_message") as batch:
        for column in SENT_MAIL_TEXT:
            batch.alter_column(column, existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("customer_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_outbox_message_customer_id", ["customer_id"])


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE recipient_enc IS NULL")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index("ix_outbox_message_customer_id")
        batch.drop_column("customer_id")
        for column in SENT_MAIL_TEXT:
            batch.alter_column(column, existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("shop_order") as batch:
        batch.drop_column("erase_ship_to_on_arrival")
        batch.drop_column("pseudonymized_at")
        for column in ("ship_recipient_name_enc", "ship_street_enc", "ship_house_number_enc"):
            batch.alter_column(column, existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("erased_at")
        batch.alter_column("email_index", existing_type=sa.String(length=64), nullable=False)
        for column in ("name_enc", "email_enc"):
            batch.alter_column(column, existing_type=sa.Text(), nullable=False)
    op.drop_index("ix_complaint_customer_id", table_name="complaint")
    op.drop_index("ix_complaint_answered_due", table_name="complaint")
    op.drop_table("complaint")
    op.drop_index("ix_privacy_request_state_due", table_name="privacy_request")
    op.drop_index("ix_privacy_request_customer_type_state", table_name="privacy_request")
    op.drop_table("privacy_request")
    op.drop_index("ix_consent_event_customer_purpose_time", table_name="consent_event")
    op.drop_table("consent_event")
