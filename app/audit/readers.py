"""How each access-log field is read from an audit entry."""

from app.access.sources import Rows, Source, stored
from app.audit.errors import AccessLogEntryNotFound
from app.audit.models import AuditEntry
from app.policy.purposes import RESOURCE_FIELDS, Resource

ACCESS_LOG_READERS = {name: stored(name) for name in RESOURCE_FIELDS[Resource.ACCESS_LOG]}

ACCESS_LOG = Source(resource=Resource.ACCESS_LOG, readers=ACCESS_LOG_READERS,
                    subject=lambda entry: entry.subject_id,
                    not_found=AccessLogEntryNotFound,
                    audit_each_row=False,
                    rows=Rows(table=AuditEntry.__table__, subject="subject_id"))


AUDIT_ENTRY_READERS = {name: stored(name) for name in RESOURCE_FIELDS[Resource.AUDIT_ENTRY]}

AUDIT_ENTRIES = Source(resource=Resource.AUDIT_ENTRY, readers=AUDIT_ENTRY_READERS,
                       subject=lambda entry: entry.subject_id, key=lambda entry: entry.id,
                       not_found=AccessLogEntryNotFound)
"""The trail itself, for the privacy officer: each entry read is an audited read of it."""
