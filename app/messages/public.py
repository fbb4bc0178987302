"""What other domains may use of communication records: the records, and erasure."""

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.messages.models import Message
from app.messages.readers import MESSAGES
from app.messages.schemas import MessageView

__all__ = ["MessageView", "MESSAGES", "erase", "records_of"]


def records_of(customer_id: str) -> Select[Message]:
    """The customer's messages, oldest first (the caller was scoped before)."""
    return (select(Message).where(Message.customer_id == customer_id)
            .order_by(Message.occurred_at, Message.id))


async def erase(session: AsyncSession, customer_id: str) -> None:
    """Remove the customer's communication records."""
    await session.execute(delete(Message).where(Message.customer_id == customer_id))
