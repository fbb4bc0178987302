"""staff-written rejection reasons are encrypted (privacy_request.rejection_reason_enc)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

`rejection_reason` keeps only the service's own fixed texts; a reason written by staff may hold
personal data and moves, encrypted, to `rejection_reason_enc`. Keys are loaded from settings
only when such rows exist, so an empty database migrates without any.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CONTEXT = "privacy_request.rejection_reason"
SERVICE_REASONS = (  # the texts the service itself wrote up to this revision
    "The verification code expired; a new request was filed.",
    "The verification code expired; file the request again.",
    "Too many wrong verification codes; file the request again.",
    "The customer's data was deleted.",
)
request = sa.table("privacy_request", sa.column("id", sa.String),
                   sa.column("rejection_reason", sa.String),
                   sa.column("rejection_reason_enc", sa.Text))


def _cipher():
    from app.core.config import resolved_settings
    from app.core.crypto import keys_from_settings

    return keys_from_settings(resolved_settings()).cipher


def upgrade() -> None:
    with op.batch_alter_table("privacy_request") as batch:
        batch.add_column(sa.Column("rejection_reason_enc", sa.Text(), nullable=True))
    connection = op.get_bind()
    staff_written = connection.execute(sa.select(request.c.id, request.c.rejection_reason).where(
        request.c.rejection_reason.is_not(None),
        request.c.rejection_reason.not_in(SERVICE_REASONS))).all()
    if not staff_written:
        return
    cipher = _cipher()
    for row_id, reason in staff_written:
        connection.execute(request.update().where(request.c.id == row_id).values(
            rejection_reason=None,
            rejection_reason_enc=cipher.seal(reason, CONTEXT)))


def downgrade() -> None:
    connection = op.get_bind()
    encrypted = connection.execute(sa.select(request.c.id, request.c.rejection_reason_enc).where(
        request.c.rejection_reason_enc.is_not(None))).all()
    if encrypted:
        cipher = _cipher()
        for row_id, token in encrypted:
            connection.execute(request.update().where(request.c.id == row_id).values(
                rejection_reason=cipher.open(token, CONTEXT)[:500]))
    with op.batch_alter_table("privacy_request") as batch:
        batch.drop_column("rejection_reason_enc")
