"""What other domains may use of the audit trail: recording, and a subject's entries."""

from sqlalchemy import Select

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

__all__ = ["ACCESS_LOG", "AccessLogEntry", "AuditEntry", "entry", "fetch_one_recorded",
           "fetch_recorded", "record", "record_on", "records_of"]


def records_of(customer_id: str) -> Select[AuditEntry]:
    """Every entry about a customer, oldest first: who read or changed what, and why."""
    return about(customer_id).order_by(AuditEntry.occurred_at, AuditEntry.id)
