"""What other domains may use of the audit trail: recording, and a subject's entries."""

from app.access.sources import Records
from app.audit.models import AuditEntry
from app.audit.readers import ACCESS_LOG
from app.audit.repository import (
    about,
    entry,
    fetch_one_recorded,
    fetch_recorded,
    record,
    record_on,
)
from app.audit.schemas import AccessLogEntry
from app.core.db import utcnow

__all__ = ["ACCESS_LOG", "AccessLogEntry", "AuditEntry", "entry", "fetch_one_recorded",
           "fetch_recorded", "record", "record_on", "records_of"]


def records_of(customer_id: str) -> Records:
    """Every entry about a customer recorded until now, oldest first: who read or changed
    what, and why (the entries of a read that pages through them come after them)."""
    return Records(about(customer_id).where(AuditEntry.occurred_at < utcnow()),
                   (AuditEntry.occurred_at, AuditEntry.id))
