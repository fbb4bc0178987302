"""Least privilege on PostgreSQL: the role the app runs as, next to the owner that migrates.

The owner (the role that runs `privacy-api migrate`) owns every table. The app role may read
and write the domain tables, but on the audit trail it may only append entries and set the
sealing columns: no UPDATE of what an entry records, no DELETE. Partitions are reached only
through their parent, so the app role gets no rights on them. Run again after each migration.
"""

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Base

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
NARROW = {
    "audit_entry": "SELECT, INSERT",
    "audit_chain_head": "SELECT",
    "alembic_version": "SELECT",
}
SEALING_COLUMNS = {
    "audit_entry": "seq, chain_hash",
    "audit_chain_head": "last_seq, last_hash",
}


def grant_statements(role: str) -> list[str]:
    """The SQL that gives `role` exactly the app's rights, whatever it had before."""
    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"not a plain role name: {role!r}")
    statements = [f"GRANT USAGE ON SCHEMA public TO {role}"]
    for table in sorted({*Base.metadata.tables, "alembic_version"}):
        statements.append(f"REVOKE ALL ON {table} FROM {role}")
        rights = NARROW.get(table, "SELECT, INSERT, UPDATE, DELETE")
        statements.append(f"GRANT {rights} ON {table} TO {role}")
        if table in SEALING_COLUMNS:
            statements.append(f"GRANT UPDATE ({SEALING_COLUMNS[table]}) ON {table} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return statements


async def grant_app_role(connection: AsyncConnection, role: str, *, create: bool = True) -> None:
    """Create `role` (LOGIN, no password) if missing and give it the app's rights."""
    exists = await connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                                     {"role": role})
    if create and not exists:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    for statement in grant_statements(role):
        await connection.execute(text(statement))
