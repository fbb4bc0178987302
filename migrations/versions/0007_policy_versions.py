"""policy versions (version 1 seeded), change notices by email and SMS, acceptances

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-28
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

# Version 1 is the policy the shop runs today, as published; the file must not drift from it.
FIRST_POLICY = Path(__file__).resolve().parents[2] / "docs" / "privacy-policy.txt"
FIRST_POLICY_SHA256 = "67d5ae6566946ffa396a09aa440cdad84b8e7eeb86684876718341fcbaab92c3"
FIRST_PUBLISHED_AT = datetime(2025, 12, 25, tzinfo=UTC)
FIRST_EFFECTIVE_AT = datetime(2026, 1, 1, tzinfo=UTC)
CONTENT = ("version", "label", "text", "summary", "significant", "published_at",
           "effective_at", "published_by")

SQLITE_GUARD = f"""
CREATE TRIGGER policy_version_immutable
BEFORE UPDATE OF {", ".join(CONTENT)} ON policy_version
BEGIN SELECT RAISE(ABORT, 'published policy versions are immutable'); END
"""
POSTGRES_GUARD = f"""
CREATE FUNCTION policy_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF ({", ".join("NEW." + c for c in CONTENT)})
     IS DISTINCT FROM ({", ".join("OLD." + c for c in CONTENT)}) THEN
    RAISE EXCEPTION 'published policy versions are immutable';
  END IF;
  RETURN NEW;
END $$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER policy_version_immutable BEFORE UPDATE ON policy_version
FOR EACH ROW EXECUTE FUNCTION policy_version_immutable()
"""


def _first_policy_text() -> str:
    text = FIRST_POLICY.read_text(encoding="utf-8")
    if hashlib.sha256(text.encode()).hexdigest() != FIRST_POLICY_SHA256:
        raise RuntimeError(f"{FIRST_POLICY} is not the published version 1 of the policy")
    return text


def upgrade() -> None:
    policy_version = op.create_table(
        "policy_version",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notices_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_version")),
    )
    op.create_index("ix_policy_version_effective_at", "policy_version", ["effective_at"])
    op.create_table(
        "policy_notice",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("outbox_message_id", sa.String(length=36), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_policy_notice_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version"], ["policy_version.version"],
                                name=op.f("fk_policy_notice_version_policy_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_notice")),
        sa.UniqueConstraint("version", "customer_id", name="uq_policy_notice_version_customer"),
    )
    op.create_index("ix_policy_notice_customer_id", "policy_notice", ["customer_id"])
    op.create_table(
        "policy_acceptance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_policy_acceptance_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version"], ["policy_version.version"],
                                name=op.f("fk_policy_acceptance_version_policy_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_acceptance")),
        sa.UniqueConstraint("customer_id", "version", "kind",
                            name="uq_policy_acceptance_customer_version_kind"),
    )
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=False,
                                   server_default="email"))
    with op.batch_alter_table("consent_event") as batch:
        batch.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_consent_event_policy_version_policy_version",
                                 "policy_version", ["policy_version"], ["version"])
    op.bulk_insert(policy_version, [{
        "version": 1, "label": "Privacy Policy for Household Goods", "text": _first_policy_text(),
        "summary": "The policy this shop runs today.", "significant": False,
        "published_at": FIRST_PUBLISHED_AT, "effective_at": FIRST_EFFECTIVE_AT,
        "published_by": "migration 0007"}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_GUARD)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS policy_version_immutable ON policy_version")
        op.execute("DROP FUNCTION IF EXISTS policy_version_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS policy_version_immutable")
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint("fk_consent_event_policy_version_policy_version",
                              type_="foreignkey")
        batch.drop_column("policy_version")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("channel")
    op.drop_table("policy_acceptance")
    op.drop_index("ix_policy_notice_customer_id", table_name="policy_notice")
    op.drop_table("policy_notice")
    op.drop_index("ix_policy_version_effective_at", table_name="policy_version")
    op.drop_table("policy_version")
