"""officer lists read from an index: requests and complaints by their list order

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-29

Each list's index leads with the list's equality filter and continues with its order, so a
page is a range scan of `limit + 1` index entries starting at the cursor. The overdue lists
are ordered by due date (most overdue first) from partial indexes of the open rows; they
replace the `(state, due_at)` index, which narrowed to every overdue request but then sorted
them all on every page.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = "state IN ('awaiting_verification', 'verified')"
UNANSWERED = "answered_at IS NULL"
INDEXES: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_privacy_request_received", "privacy_request", ["received_at", "id"], None),
    ("ix_privacy_request_state_received", "privacy_request", ["state", "received_at", "id"],
     None),
    ("ix_privacy_request_type_received", "privacy_request", ["type", "received_at", "id"], None),
    ("ix_privacy_request_state_type_received", "privacy_request",
     ["state", "type", "received_at", "id"], None),
    ("ix_privacy_request_open_due", "privacy_request", ["due_at", "id"], OPEN),
    ("ix_complaint_customer_received", "complaint", ["customer_id", "received_at", "id"], None),
    ("ix_complaint_received", "complaint", ["received_at", "id"], None),
    ("ix_complaint_unanswered_received", "complaint", ["received_at", "id"], UNANSWERED),
    ("ix_complaint_unanswered_due", "complaint", ["due_at", "id"], UNANSWERED),
)
REPLACED = (  # served by the indexes above: by the open requests' due dates, by customer
    ("ix_privacy_request_state_due", "privacy_request", ["state", "due_at"]),
    ("ix_complaint_customer_id", "complaint", ["customer_id"]),
)


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        predicate = {} if where is None else {"postgresql_where": sa.text(where),
                                              "sqlite_where": sa.text(where)}
        op.create_index(name, table, columns, **predicate)
    for name, table, _ in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns)
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
