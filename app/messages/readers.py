"""How each message field is read from a row."""

from app.access.projection import FieldReader
from app.access.sources import Source
from app.messages.errors import MessageNotFound
from app.policy.purposes import Resource

SUBJECT, BODY = "message.subject", "message.body"

MESSAGE_READERS: dict[str, FieldReader] = {
    "id": lambda m, k: m.id,
    "customer_id": lambda m, k: m.customer_id,
    "order_number": lambda m, k: m.order_number,
    "channel": lambda m, k: m.channel,
    "direction": lambda m, k: m.direction,
    "subject": lambda m, k: k.cipher.decrypt_optional(m.subject_enc, context=SUBJECT,
                                                      row_id=m.id),
    "body": lambda m, k: k.cipher.decrypt(m.body_enc, context=BODY, row_id=m.id),
    "occurred_at": lambda m, k: m.occurred_at,
    "created_at": lambda m, k: m.created_at,
}

MESSAGES = Source(resource=Resource.MESSAGE, readers=MESSAGE_READERS,
                  subject=lambda m: m.customer_id, key=lambda m: m.id,
                  not_found=MessageNotFound)
