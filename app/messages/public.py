"""What other domains may use of communication records: the records, and erasure."""

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.sources import Records
from app.messages.models import Message
from app.messages.readers import MESSAGES
from app.messages.schemas import MessageView

__all__ = ["MessageView", "MESSAGES", "erase", "records_of"]


def records_of(customer_id: str) -> Records:
    """The customer's messages, oldest first (the caller was scoped before)."""
    return Records(select(Message).where(Message.customer_id == customer_id),
                   (Message.occurred_at, Message.id))


async def erase(session: AsyncSession, customer_id: str, *, limit: int) -> int:
    """Remove up to `limit` of the customer's communication records; return how many went."""
    chosen = select(Message.id).where(Message.customer_id == customer_id).limit(limit)
    done = await session.execute(delete(Message).where(Message.id.in_(chosen))
                                 .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], done).rowcount
