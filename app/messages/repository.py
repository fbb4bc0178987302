"""Message queries."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import fetch_page
from app.messages.models import Message


async def list_for(session: AsyncSession, customer_id: str, *, cursor: str | None, limit: int
                   ) -> tuple[list[Message], str | None]:
    """A page of a customer's messages, oldest first."""
    return await fetch_page(session, select(Message).where(Message.customer_id == customer_id),
                            Message.occurred_at, Message.id, cursor=cursor, limit=limit)


async def save(session: AsyncSession, message: Message) -> Message:
    """Store a message."""
    session.add(message)
    await session.flush()
    return message
