"""How each complaint field is read from a row."""

from app.access.projection import FieldReader
from app.access.sources import Source
from app.complaints.errors import ComplaintNotFound
from app.complaints.models import Complaint
from app.core.db import utcnow
from app.policy.purposes import Resource

SUBJECT, BODY, ANSWER = "complaint.subject", "complaint.body", "complaint.answer"


def overdue(complaint: Complaint) -> bool:
    """Unanswered and past its due date."""
    return complaint.answered_at is None and complaint.due_at < utcnow()


COMPLAINT_READERS: dict[str, FieldReader] = {
    "id": lambda c, k: c.id,
    "customer_id": lambda c, k: c.customer_id,
    "kind": lambda c, k: c.kind,
    "subject": lambda c, k: k.cipher.decrypt_optional(c.subject_enc, context=SUBJECT,
                                                      row_id=c.id),
    "body": lambda c, k: k.cipher.decrypt(c.body_enc, context=BODY, row_id=c.id),
    "received_at": lambda c, k: c.received_at,
    "due_at": lambda c, k: c.due_at,
    "answer": lambda c, k: k.cipher.decrypt_optional(c.answer_enc, context=ANSWER,
                                                     row_id=c.id),
    "answered_at": lambda c, k: c.answered_at,
    "answered_by": lambda c, k: c.answered_by,
    "overdue": lambda c, k: overdue(c),
}

COMPLAINTS = Source(resource=Resource.COMPLAINT, readers=COMPLAINT_READERS,
                    subject=lambda c: c.customer_id, key=lambda c: c.id,
                    not_found=ComplaintNotFound)
