"""What other domains may use of the outbox: its channels and rows, and queuing messages."""

from app.outbox.models import CHANNELS, EMAIL, SMS, OutboxMessage
from app.outbox.service import enqueue, forget_unsent

__all__ = ["CHANNELS", "EMAIL", "SMS", "OutboxMessage", "enqueue", "forget_unsent"]
