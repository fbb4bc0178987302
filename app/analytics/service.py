"""Aggregates for the optimisation purpose, audited as one read with no subject."""

from app.access import gate
from app.access.callers import Reader
from app.access.errors import PurposeNotPermitted
from app.analytics.errors import UnknownDimension
from app.analytics.repository import DIMENSIONS, order_groups
from app.analytics.schemas import OrderAggregates, OrderGroup
from app.policy.purposes import Resource

MEASURES = ("currency", "orders", "total_amount", "average_delivery_days", "complaints")


def parse_group_by(text: str) -> tuple[str, ...]:
    """The dimensions named, in the order given; `UnknownDimension` for any other name."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown or not names:
        raise UnknownDimension(f"Group by one or more of: {', '.join(DIMENSIONS)}.")
    return names


async def order_aggregates(caller: Reader, group_by: tuple[str, ...], *, k: int
                           ) -> OrderAggregates:
    """Order figures per group; groups of fewer than k customers are suppressed."""
    if not gate.covers(caller, Resource.ANALYTICS):
        raise PurposeNotPermitted(f"The {caller.purpose} purpose does not cover analytics.")
    stmt = order_groups(caller.session.get_bind().dialect.name, group_by, k=k)
    rows = (await caller.session.execute(stmt)).mappings().all()
    await gate.record_aggregate_read(caller, Resource.ANALYTICS, [*group_by, *MEASURES])
    groups = [OrderGroup(**{**row, "average_delivery_days": None
                            if row["average_delivery_days"] is None
                            else round(float(row["average_delivery_days"]), 2)})
              for row in rows]
    return OrderAggregates(group_by=list(group_by), min_group=k, groups=groups)
