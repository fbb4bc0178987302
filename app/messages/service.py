"""Communication record use cases."""

from typing import Any

from app.access import gate
from app.access.callers import Reader, Writer
from app.core.db import new_id, utcnow
from app.core.schemas import Receipt
from app.identity import public as identity
from app.messages import repository
from app.messages.models import Message
from app.messages.readers import BODY, MESSAGES, SUBJECT
from app.messages.schemas import MessageCreate
from app.policy.purposes import Resource


async def record(caller: Writer, customer_id: str, payload: MessageCreate) -> Receipt:
    """Keep a message, its text encrypted (card numbers were masked on the way in)."""
    await identity.ensure_visible(caller, customer_id)
    cipher, row_id = caller.keys.cipher, new_id()
    message = Message(
        id=row_id, customer_id=customer_id, order_number=payload.order_number,
        channel=payload.channel, direction=payload.direction,
        subject_enc=cipher.encrypt_optional(payload.subject, context=SUBJECT, row_id=row_id),
        body_enc=cipher.encrypt(payload.body, context=BODY, row_id=row_id),
        occurred_at=payload.occurred_at or utcnow())
    await repository.save(caller.session, message)
    fields = sorted(payload.model_fields_set | {"occurred_at"})
    await gate.record_write(caller, Resource.MESSAGE, "create", subject_id=customer_id,
                            resource_id=message.id, fields=fields)
    return Receipt(id=message.id, fields=fields, at=message.created_at)


async def list_for(caller: Reader, customer_id: str, *, cursor: str | None, limit: int
                   ) -> dict[str, Any]:
    """A page of a customer's messages, as the purpose allows."""
    gate.fields_for(caller, MESSAGES)
    await identity.ensure_visible(caller, customer_id)
    return await gate.read_page(
        caller, MESSAGES, repository.of_customer(caller.actor, customer_id),
        order=(Message.occurred_at, Message.id), cursor=cursor, limit=limit,
        subject_id=customer_id)
