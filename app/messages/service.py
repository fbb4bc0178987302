"""Communication record use cases."""

from app.core.access import allowed_fields, audit_read, audit_write, view
from app.core.db import utcnow
from app.core.deps import Caller
from app.core.schemas import Receipt
from app.identity.service import readable
from app.messages import repository
from app.messages.models import Message
from app.messages.schemas import MessageCreate
from app.policy.purposes import Resource

SUBJECT, BODY = "message.subject", "message.body"

MESSAGE_READERS = {
    "id": lambda m, k: m.id,
    "customer_id": lambda m, k: m.customer_id,
    "order_number": lambda m, k: m.order_number,
    "channel": lambda m, k: m.channel,
    "direction": lambda m, k: m.direction,
    "subject": lambda m, k: k.cipher.decrypt_optional(m.subject_enc, context=SUBJECT),
    "body": lambda m, k: k.cipher.decrypt(m.body_enc, context=BODY),
    "occurred_at": lambda m, k: m.occurred_at,
    "created_at": lambda m, k: m.created_at,
}


async def record(caller: Caller, customer_id: str, payload: MessageCreate) -> Receipt:
    """Keep a message, its text encrypted (card numbers were masked on the way in)."""
    await readable(caller, customer_id)
    cipher = caller.keys.cipher
    message = Message(
        customer_id=customer_id, order_number=payload.order_number, channel=payload.channel,
        direction=payload.direction,
        subject_enc=cipher.encrypt_optional(payload.subject, context=SUBJECT),
        body_enc=cipher.encrypt(payload.body, context=BODY),
        occurred_at=payload.occurred_at or utcnow())
    await repository.save(caller.session, message)
    fields = sorted(payload.model_fields_set | {"occurred_at"})
    await audit_write(caller, Resource.MESSAGE, "create", subject_id=customer_id,
                      resource_id=message.id, fields=fields)
    return Receipt(id=message.id, fields=fields, at=message.created_at)


async def list_for(caller: Caller, customer_id: str, *, cursor: str | None, limit: int) -> dict:
    """A page of a customer's messages, as the purpose allows."""
    fields = allowed_fields(caller, Resource.MESSAGE)
    await readable(caller, customer_id)
    rows, next_cursor = await repository.list_for(caller.session, customer_id, cursor=cursor,
                                                  limit=limit)
    if rows:
        await audit_read(caller, Resource.MESSAGE, [(customer_id, row.id, fields) for row in rows])
    return {"items": [view(fields, MESSAGE_READERS, row, caller) for row in rows],
            "next_cursor": next_cursor}
