"""Delivery promises on the business-day clock: ship within 1-3 business days, arrive 12-15
business days after shipping (counted from the ship-by date while unshipped)."""

from datetime import datetime

from app.core.business_days import BusinessCalendar
from app.orders.models import Order

SHIP_WITHIN = 3
ARRIVE_FROM, ARRIVE_BY = 12, 15


def stamp(order: Order, calendar: BusinessCalendar) -> None:
    """Set the order's ship-by date and delivery window from its placement and shipping."""
    order.ship_by = calendar.due_at(order.placed_at, SHIP_WITHIN)
    start: datetime = order.shipped_at or order.ship_by
    order.deliver_from = calendar.due_at(start, ARRIVE_FROM)
    order.deliver_by = calendar.due_at(start, ARRIVE_BY)
