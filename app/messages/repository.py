"""Message queries, scoped to the customers the caller may see."""

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Actor
from app.identity import public as identity
from app.messages.models import Message


def of_customer(actor: Actor, customer_id: str) -> Select[Message]:
    """A customer's messages, if this actor may see the customer."""
    return select(Message).where(Message.customer_id == customer_id,
                                 Message.customer_id.in_(identity.visible_ids(actor)))


async def save(session: AsyncSession, message: Message) -> Message:
    """Store a message."""
    session.add(message)
    await session.flush()
    return message
