"""How each legal hold field is read from a row."""

from app.access.projection import FieldReader
from app.access.sources import Source
from app.core.db import utcnow
from app.policy.purposes import Resource
from app.retention.errors import HoldNotFound
from app.retention.models import LegalHold


def in_force(hold: LegalHold) -> bool:
    """Not lifted and not past its end date."""
    return hold.lifted_at is None and (hold.until is None or hold.until > utcnow())


HOLD_READERS: dict[str, FieldReader] = {
    "id": lambda h, k: h.id,
    "customer_id": lambda h, k: h.customer_id,
    "order_number": lambda h, k: h.order_number,
    "reason": lambda h, k: h.reason,
    "reference": lambda h, k: h.reference,
    "until": lambda h, k: h.until,
    "placed_at": lambda h, k: h.placed_at,
    "placed_by": lambda h, k: h.placed_by,
    "lifted_at": lambda h, k: h.lifted_at,
    "lifted_by": lambda h, k: h.lifted_by,
    "active": lambda h, k: in_force(h),
}

HOLDS = Source(resource=Resource.HOLD, readers=HOLD_READERS, subject=lambda h: h.customer_id,
               key=lambda h: h.id, not_found=HoldNotFound)
