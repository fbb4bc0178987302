"""verification guards, one open request per customer and type, destruction confirmed once,
encrypted values bound to their row

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from app.core.config import resolved_settings
from app.core.crypto import FieldCipher, bound_to, keys_from_settings

revision = "0010"
down_revision = "0007"
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

ENCRYPTED = {  # table: columns holding `<name>_enc`, encrypted under "table.name"
    "customer": ("name", "email", "phone"),
    "shipping_address": ("recipient_name", "phone", "street", "house_number", "postal_code"),
    "shop_order": ("ship_recipient_name", "ship_phone", "ship_street", "ship_house_number",
                   "ship_postal_code"),
    "message": ("subject", "body"),
    "complaint": ("subject", "body", "answer"),
    "outbox_message": ("recipient", "subject", "body"),
    "privacy_request": ("changes", "rejection_reason"),
}
BATCH = 500


def _reseal(*, bind_rows: bool) -> None:
    """Re-encrypt every stored value, binding it to its row (or back to its column only).

    The keys come from the settings, as the service reads them; an empty database needs none.
    """
    bind = op.get_bind()
    cipher: FieldCipher | None = None
    for table, names in ENCRYPTED.items():
        columns = [f"{name}_enc" for name in names]
        last = ""
        while rows := bind.execute(sa.text(
                f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :last "
                f"ORDER BY id LIMIT {BATCH}"), {"last": last}).all():
            if cipher is None:
                cipher = keys_from_settings(resolved_settings()).cipher
            for row in rows:
                values = {}
                for name, column, token in zip(names, columns, row[1:], strict=True):
                    if token is not None:
                        values[column] = _convert(cipher, f"{table}.{name}", row.id,
                                                  token, bind_rows=bind_rows)
                if values:
                    bind.execute(sa.text(
                        f"UPDATE {table} SET {', '.join(f'{c} = :{c}' for c in values)} "
                        "WHERE id = :id"), {**values, "id": row.id})
            last = rows[-1].id


def _convert(cipher: FieldCipher, context: str, row_id: str, token: str, *,
             bind_rows: bool) -> str:
    old, new = context, bound_to(context, row_id)
    if not bind_rows:
        old, new = new, old
    return cipher.seal(cipher.open(token, old), new)


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
    _reseal(bind_rows=True)


def downgrade() -> None:
    _reseal(bind_rows=False)
    with op.batch_alter_table("shop_order") as batch:
        batch.drop_column("ship_to_destroyed_at")
    op.drop_index("uq_privacy_request_open_customer_type", table_name="privacy_request")
    op.drop_index("ix_verification_guard_locked_at", table_name="verification_guard")
    op.drop_table("verification_guard")
