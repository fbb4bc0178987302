"""Complaint use cases: record, list what is due, read, answer."""

from typing import Any

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.projection import Projection
from app.complaints import repository
from app.complaints.errors import AlreadyAnswered
from app.complaints.models import Complaint
from app.complaints.readers import ANSWER, BODY, COMPLAINTS, SUBJECT
from app.complaints.schemas import ComplaintCreate
from app.core.business_days import BusinessCalendar
from app.core.db import new_id, utcnow
from app.core.schemas import Receipt
from app.identity import public as identity
from app.outbox.service import enqueue
from app.policy.purposes import COMPLAINT_STATUS, Resource

ANSWER_WITHIN_BUSINESS_DAYS = 3


async def record(caller: Writer, payload: ComplaintCreate, calendar: BusinessCalendar) -> Receipt:
    """Record a complaint; its answer is due 3 business days after it arrived."""
    await identity.ensure_visible(caller, payload.customer_id)
    now, cipher, row_id = utcnow(), caller.keys.cipher, new_id()
    complaint = Complaint(
        id=row_id, customer_id=payload.customer_id, kind=payload.kind, received_at=now,
        due_at=calendar.due_at(now, ANSWER_WITHIN_BUSINESS_DAYS),
        subject_enc=cipher.encrypt_optional(payload.subject, context=SUBJECT, row_id=row_id),
        body_enc=cipher.encrypt(payload.body, context=BODY, row_id=row_id))
    await repository.save(caller.session, complaint)
    fields = sorted(payload.model_fields_set - {"customer_id"} | {"body"})
    await gate.record_write(caller, Resource.COMPLAINT, "create", subject_id=complaint.customer_id,
                            resource_id=complaint.id, fields=fields)
    return Receipt(id=complaint.id, fields=fields, at=now)


async def list_complaints(caller: Reader, *, answered: bool | None, overdue: bool,
                          cursor: str | None, limit: int) -> dict[str, Any]:
    """Complaints without their text, by whether they are answered, oldest first; `overdue`
    the late ones, most overdue first."""
    stmt = repository.listed(caller.actor, answered=answered,
                             overdue_at=utcnow() if overdue else None)
    return await gate.read_page(caller, COMPLAINTS, stmt,
                                order=repository.order_of(overdue=overdue), cursor=cursor,
                                limit=limit, only=COMPLAINT_STATUS)


async def read(caller: Reader, complaint_id: str) -> Projection:
    """One complaint with its text, as the purpose allows."""
    return await gate.read_one(caller, COMPLAINTS, repository.one(caller.actor, complaint_id))


async def answer(caller: Reader, complaint_id: str, text: str) -> Projection:
    """Keep staff's answer and send it to the customer's email on file; one answer only."""
    gate.fields_for(caller, COMPLAINTS, only=COMPLAINT_STATUS)
    customer_id = await repository.customer_of(caller.session, caller.actor, complaint_id)
    answer_enc = caller.keys.cipher.encrypt(text, context=ANSWER, row_id=complaint_id)
    answered = await repository.answer(caller.session, complaint_id, answer_enc=answer_enc,
                                       at=utcnow(), by=caller.actor.sub)
    if not answered:
        raise AlreadyAnswered()
    email, _ = await identity.contact_of(caller.session, caller.keys, customer_id)
    if email:
        await enqueue(caller.session, caller.keys, kind="complaint_answer", to=email,
                      subject="Our answer to your message", body=text, customer_id=customer_id)
    await gate.record_write(caller, Resource.COMPLAINT, "answer", subject_id=customer_id,
                            resource_id=complaint_id, fields=["answer", "email"])
    return await gate.read_one(caller, COMPLAINTS, repository.one(caller.actor, complaint_id),
                               only=COMPLAINT_STATUS)
