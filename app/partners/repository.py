"""Partner registry queries: one indexed lookup decides whether a partner is active."""

from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.partners.errors import PartnerExists
from app.partners.models import Partner


def active_on(today: date) -> ColumnElement[bool]:
    """SQL condition: not suspended and `today` within the agreement's dates."""
    return ((Partner.suspended_at.is_(None)) & (Partner.agreement_starts_on <= today)
            & (Partner.agreement_ends_on >= today))


async def active_kind(session: AsyncSession, partner_id: str, today: date) -> str | None:
    """The kind of an active partner, or None if it is unknown or not active."""
    kind: str | None = await session.scalar(
        select(Partner.kind).where(Partner.id == partner_id, active_on(today)))
    return kind


async def get(session: AsyncSession, partner_id: str, *, for_update: bool = False
              ) -> Partner | None:
    """One partner by id."""
    stmt = select(Partner).where(Partner.id == partner_id)
    partner: Partner | None = await session.scalar(stmt.with_for_update() if for_update
                                                   else stmt)
    return partner


async def add(session: AsyncSession, partner: Partner) -> Partner:
    """Register a partner; raise `PartnerExists` on a taken id."""
    session.add(partner)
    try:
        await session.flush()
    except IntegrityError:
        raise PartnerExists() from None
    return partner


def listed(kind: str | None) -> Select[Partner]:
    """Partners, optionally of one kind."""
    stmt = select(Partner)
    return stmt if kind is None else stmt.where(Partner.kind == kind)


async def suspend(session: AsyncSession, partner_id: str, at: datetime) -> None:
    """Mark a partner suspended (kept if it already was)."""
    await session.execute(update(Partner).where(Partner.id == partner_id,
                                                Partner.suspended_at.is_(None))
                          .values(suspended_at=at, updated_at=at))
