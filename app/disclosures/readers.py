"""How each disclosure field is read from a row.

Until the customer is told, a read of the disclosure is audited without the customer as its
subject, so the customer's access log cannot reveal a disclosure a legal bar keeps quiet.
"""

from app.access.projection import FieldReader
from app.access.sources import Source
from app.disclosures.errors import DisclosureNotFound
from app.disclosures.models import LegalDisclosure
from app.policy.purposes import RESOURCE_FIELDS, Resource


def _column(name: str) -> FieldReader:
    return lambda row, keys: getattr(row, name)


def told_subject(row: LegalDisclosure) -> str | None:
    """The customer, once they were told; before that, no subject."""
    return row.customer_id if row.notified_at is not None else None


DISCLOSURES = Source(resource=Resource.DISCLOSURE,
                     readers={n: _column(n) for n in RESOURCE_FIELDS[Resource.DISCLOSURE]},
                     subject=told_subject, key=lambda row: row.id, not_found=DisclosureNotFound)
