"""Complaint use cases: record, list what is due, read, answer."""

from app.complaints import repository
from app.complaints.models import Complaint
from app.complaints.schemas import ComplaintCreate
from app.core.access import allowed_fields, audit_read, audit_write, view
from app.core.business_days import BusinessCalendar
from app.core.db import utcnow
from app.core.deps import Caller
from app.core.errors import Conflict, NotFound
from app.core.schemas import Receipt
from app.identity.models import Customer
from app.identity.service import readable
from app.identity.views import EMAIL
from app.outbox.service import enqueue
from app.policy.purposes import Resource

ANSWER_WITHIN_BUSINESS_DAYS = 3
SUBJECT, BODY, ANSWER = "complaint.subject", "complaint.body", "complaint.answer"

COMPLAINT_READERS = {
    "id": lambda c, k: c.id,
    "customer_id": lambda c, k: c.customer_id,
    "kind": lambda c, k: c.kind,
    "subject": lambda c, k: k.cipher.decrypt_optional(c.subject_enc, context=SUBJECT),
    "body": lambda c, k: k.cipher.decrypt(c.body_enc, context=BODY),
    "received_at": lambda c, k: c.received_at,
    "due_at": lambda c, k: c.due_at,
    "answer": lambda c, k: k.cipher.decrypt_optional(c.answer_enc, context=ANSWER),
    "answered_at": lambda c, k: c.answered_at,
    "answered_by": lambda c, k: c.answered_by,
}


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class AlreadyAnswered(Conflict):
    code = "complaint_already_answered"


def status(complaint: Complaint, now) -> dict:
    """A complaint's dates, without its text."""
    return {"id": complaint.id, "customer_id": complaint.customer_id, "kind": complaint.kind,
            "received_at": complaint.received_at, "due_at": complaint.due_at,
            "answered_at": complaint.answered_at,
            "overdue": complaint.answered_at is None and complaint.due_at < now}


async def record(caller: Caller, payload: ComplaintCreate, calendar: BusinessCalendar) -> Receipt:
    """Record a complaint; its answer is due 3 business days after it arrived."""
    await readable(caller, payload.customer_id)
    now, cipher = utcnow(), caller.keys.cipher
    complaint = Complaint(
        customer_id=payload.customer_id, kind=payload.kind, received_at=now,
        due_at=calendar.due_at(now, ANSWER_WITHIN_BUSINESS_DAYS),
        subject_enc=cipher.encrypt_optional(payload.subject, context=SUBJECT),
        body_enc=cipher.encrypt(payload.body, context=BODY))
    await repository.save(caller.session, complaint)
    fields = sorted(payload.model_fields_set - {"customer_id"} | {"body"})
    await audit_write(caller, Resource.COMPLAINT, "create", subject_id=complaint.customer_id,
                      resource_id=complaint.id, fields=fields)
    return Receipt(id=complaint.id, fields=fields, at=now)


async def list_complaints(caller: Caller, *, answered: bool | None, overdue: bool,
                          cursor: str | None, limit: int) -> dict:
    """Complaints by whether they are answered; `overdue` keeps the late ones."""
    now = utcnow()
    rows, next_cursor = await repository.list_all(
        caller.session, answered=answered, overdue_at=now if overdue else None, cursor=cursor,
        limit=limit)
    return {"items": [status(r, now) for r in rows], "next_cursor": next_cursor}


async def _complaint(caller: Caller, complaint_id: str) -> tuple[Complaint, Customer]:
    complaint = await repository.get(caller.session, complaint_id)
    if complaint is None:
        raise ComplaintNotFound("No such complaint, or not one you may see.")
    return complaint, await readable(caller, complaint.customer_id)


async def read(caller: Caller, complaint_id: str) -> dict:
    """One complaint with its text, as the purpose allows."""
    fields = allowed_fields(caller, Resource.COMPLAINT)
    complaint, _ = await _complaint(caller, complaint_id)
    await audit_read(caller, Resource.COMPLAINT, [(complaint.customer_id, complaint.id, fields)])
    return view(fields, COMPLAINT_READERS, complaint, caller)


async def answer(caller: Caller, complaint_id: str, text: str) -> dict:
    """Keep staff's answer and send it to the customer's email on file."""
    complaint, customer = await _complaint(caller, complaint_id)
    if complaint.answered_at is not None:
        raise AlreadyAnswered("This complaint was answered already.")
    complaint.answer_enc = caller.keys.cipher.encrypt(text, context=ANSWER)
    complaint.answered_at, complaint.answered_by = utcnow(), caller.actor.sub
    await repository.save(caller.session, complaint)
    await enqueue(caller.session, caller.keys, kind="complaint_answer",
                  to=caller.keys.cipher.decrypt(customer.email_enc, context=EMAIL),
                  subject="Our answer to your message", body=text, customer_id=customer.id)
    await audit_write(caller, Resource.COMPLAINT, "answer", subject_id=complaint.customer_id,
                      resource_id=complaint.id, fields=["answer", "email"])
    return status(complaint, utcnow())
