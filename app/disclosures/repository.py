"""Disclosure queries."""

from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.disclosures.models import LegalDisclosure


def one(disclosure_id: str) -> Select[LegalDisclosure]:
    """One disclosure by id (officers see all)."""
    return select(LegalDisclosure).where(LegalDisclosure.id == disclosure_id)


def searched(*, customer_id: str | None, authority: str | None, disclosed_from: datetime | None,
             disclosed_to: datetime | None) -> Select[LegalDisclosure]:
    """Disclosures filtered by customer, authority (part of the name) and time range."""
    stmt = select(LegalDisclosure)
    if customer_id is not None:
        stmt = stmt.where(LegalDisclosure.customer_id == customer_id)
    if authority:
        stmt = stmt.where(func.lower(LegalDisclosure.authority).contains(
            authority.lower(), autoescape=True))
    if disclosed_from is not None:
        stmt = stmt.where(LegalDisclosure.disclosed_at >= disclosed_from)
    if disclosed_to is not None:
        stmt = stmt.where(LegalDisclosure.disclosed_at < disclosed_to)
    return stmt


async def claim_due(session: AsyncSession, today: date, limit: int) -> list[LegalDisclosure]:
    """Untold disclosures whose bar ended by `today`, locked (skipping those another replica
    holds on PostgreSQL)."""
    stmt = (select(LegalDisclosure)
            .where(LegalDisclosure.notified_at.is_(None), LegalDisclosure.notify_after <= today)
            .order_by(LegalDisclosure.notify_after, LegalDisclosure.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.scalars(stmt)).all())
