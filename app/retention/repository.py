"""Legal hold queries; holds are staff data, read by the privacy officer only."""

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.retention.models import LegalHold
from app.retention.public import active


def one(hold_id: str) -> Select[LegalHold]:
    """The hold with this id."""
    return select(LegalHold).where(LegalHold.id == hold_id)


def listed(*, customer_id: str | None, in_force_at: datetime | None) -> Select[LegalHold]:
    """Holds, optionally one customer's, optionally only those in force at a moment."""
    stmt = select(LegalHold)
    if customer_id is not None:
        stmt = stmt.where(LegalHold.customer_id == customer_id)
    if in_force_at is not None:
        stmt = stmt.where(active(in_force_at))
    return stmt


async def get_for_update(session: AsyncSession, hold_id: str) -> LegalHold | None:
    """The hold, locked until the transaction ends."""
    return await session.scalar(one(hold_id).with_for_update())


async def save(session: AsyncSession, hold: LegalHold) -> None:
    """Add or update a hold and flush."""
    session.add(hold)
    await session.flush()
