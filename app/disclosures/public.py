"""What other domains may use of disclosures: the told ones of a customer, for the export."""

from sqlalchemy import select

from app.access.sources import Records
from app.disclosures.models import LegalDisclosure
from app.disclosures.readers import DISCLOSURES
from app.disclosures.schemas import DisclosureView

__all__ = ["DISCLOSURES", "DisclosureView", "records_of"]


def records_of(customer_id: str) -> Records:
    """The customer's disclosures they were told of, oldest first; barred ones never."""
    return Records(select(LegalDisclosure).where(LegalDisclosure.customer_id == customer_id,
                                                 LegalDisclosure.notified_at.is_not(None)),
                   (LegalDisclosure.disclosed_at, LegalDisclosure.id))
