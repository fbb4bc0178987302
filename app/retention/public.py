"""What other domains may use of retention: hold conditions, holds of a customer, the
schedule's periods."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.retention.models import LegalHold
from app.retention.schedule import RULES, SCHEDULE, Category, Periods, kept_for, periods

__all__ = ["RULES", "SCHEDULE", "Category", "Periods", "active", "held_customers",
           "held_orders", "holds_of", "kept_for", "periods"]


def active(now: datetime) -> ColumnElement[bool]:
    """Holds in force at `now`: not lifted, and either open-ended or not yet past `until`."""
    return and_(LegalHold.lifted_at.is_(None),
                or_(LegalHold.until.is_(None), LegalHold.until > now))


def held_customers(now: datetime) -> Select[str]:
    """Ids of customers all of whose data is held (use with `not_in`)."""
    return select(LegalHold.customer_id).where(active(now), LegalHold.order_number.is_(None))


def held_orders(now: datetime) -> Select[str | None]:
    """Numbers of orders held one by one (use with `not_in`)."""
    return select(LegalHold.order_number).where(active(now),
                                                LegalHold.order_number.is_not(None))


async def holds_of(session: AsyncSession, customer_id: str, now: datetime
                   ) -> list[dict[str, Any]]:
    """The customer's holds in force: what is held, why, under which reference, until when."""
    rows = (await session.scalars(select(LegalHold).where(
        LegalHold.customer_id == customer_id, active(now))
        .order_by(LegalHold.placed_at, LegalHold.id))).all()
    return [{"what": f"order {h.order_number}" if h.order_number else "all your data",
             "order_number": h.order_number, "why": h.reason, "reference": h.reference,
             "until": h.until.isoformat() if h.until else "until the hold is lifted"}
            for h in rows]
