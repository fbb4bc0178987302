"""How each request field is read from a row."""

from app.access.projection import FieldReader
from app.access.sources import Source
from app.core.crypto import Keys
from app.core.db import utcnow
from app.policy.purposes import RESOURCE_FIELDS, Resource
from app.requests.errors import LockoutNotFound, RequestNotFound
from app.requests.models import OPEN_STATES, PrivacyRequest

REJECTION_REASON = "privacy_request.rejection_reason"  # staff's words, encrypted


def overdue(request: PrivacyRequest) -> bool:
    """Still open and past its due date."""
    return bool(request.state in OPEN_STATES and request.due_at and request.due_at < utcnow())


def _column(name: str) -> FieldReader:
    return lambda r, k: getattr(r, name)


def _rejection_reason(request: PrivacyRequest, keys: Keys) -> str | None:
    """Staff's reason (encrypted, it may hold personal data), else the service's own words."""
    return keys.cipher.decrypt_optional(request.rejection_reason_enc, context=REJECTION_REASON,
                                        row_id=request.id) or request.rejection_reason


REQUEST_READERS: dict[str, FieldReader] = {
    **{name: _column(name) for name in RESOURCE_FIELDS[Resource.REQUEST]},
    "overdue": lambda r, k: overdue(r),
    "rejection_reason": _rejection_reason,
}

REQUESTS = Source(resource=Resource.REQUEST, readers=REQUEST_READERS,
                  subject=lambda r: r.customer_id, key=lambda r: r.id,
                  not_found=RequestNotFound)


LOCKOUT_READERS: dict[str, FieldReader] = {
    **{name: _column(name) for name in RESOURCE_FIELDS[Resource.LOCKOUT] if name != "locked"},
    "locked": lambda g, k: bool(g.locked_until and g.locked_until > utcnow()),
}

LOCKOUTS = Source(resource=Resource.LOCKOUT, readers=LOCKOUT_READERS,
                  subject=lambda g: g.customer_id, key=lambda g: g.id,
                  not_found=LockoutNotFound)
