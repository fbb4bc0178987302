"""Consent queries."""

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.consents.models import ConsentEvent


async def history(session: AsyncSession, customer_id: str) -> list[ConsentEvent]:
    """Every consent event of a customer, oldest first."""
    return list((await session.scalars(
        select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
        .order_by(ConsentEvent.changed_at, ConsentEvent.id))).all())


async def withdrawn_among(session: AsyncSession, purpose: str, customer_ids: Iterable[str]
                          ) -> set[str]:
    """Those customers whose latest event for `purpose` is a withdrawal."""
    ids = set(customer_ids)
    if not ids:
        return set()
    latest = (select(ConsentEvent.customer_id, func.max(ConsentEvent.changed_at).label("at"))
              .where(ConsentEvent.purpose == purpose, ConsentEvent.customer_id.in_(ids))
              .group_by(ConsentEvent.customer_id).subquery())
    rows = await session.scalars(
        select(ConsentEvent.customer_id).join(
            latest, (ConsentEvent.customer_id == latest.c.customer_id)
            & (ConsentEvent.changed_at == latest.c.at))
        .where(ConsentEvent.purpose == purpose, ConsentEvent.granted.is_(False)))
    return set(rows.all())


async def add(session: AsyncSession, event: ConsentEvent) -> ConsentEvent:
    """Record a consent event."""
    session.add(event)
    await session.flush()
    return event
