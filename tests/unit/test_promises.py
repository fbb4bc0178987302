"""Ship-by dates and delivery windows across weekends and holidays (business hours at UTC+8)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.core.business_days import BusinessCalendar
from app.orders.models import Order
from app.orders.promises import stamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


def calendar(country: str | None = None, extra: frozenset[date] = frozenset()):
    return BusinessCalendar(timezone=SHANGHAI, opens=time(9), closes=time(18), country=country,
                            extra_holidays=extra)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def promised(placed_at: datetime, cal: BusinessCalendar, shipped_at: datetime | None = None):
    order = Order(placed_at=placed_at, shipped_at=shipped_at)
    stamp(order, cal)
    return order.ship_by, order.deliver_from, order.deliver_by


def test_friday_afternoon_order_ships_by_wednesday_and_arrives_in_december_window():
    # Fri 27 Nov 17:30 local: Mon, Tue, Wed -> Wed 2 Dec; then 12 and 15 business days on
    assert promised(utc(2026, 11, 27, 9, 30), calendar()) == (
        utc(2026, 12, 2, 9, 30), utc(2026, 12, 18, 9, 30), utc(2026, 12, 23, 9, 30))


def test_order_after_hours_on_friday_starts_counting_monday_morning():
    ship_by, _, _ = promised(utc(2026, 11, 27, 11, 0), calendar())  # Fri 19:00 local
    assert ship_by == utc(2026, 12, 3, 1, 0)  # Thu 09:00 local


def test_order_on_a_saturday_starts_counting_monday_morning():
    ship_by, _, _ = promised(utc(2026, 11, 28, 4, 0), calendar())  # Sat noon local
    assert ship_by == utc(2026, 12, 3, 1, 0)


def test_an_extra_holiday_pushes_the_ship_by_date():
    ship_by, _, _ = promised(utc(2026, 11, 27, 2, 0), calendar(extra=frozenset({
        date(2026, 12, 1)})))  # Fri 10:00 local; Tue 1 Dec closed
    assert ship_by == utc(2026, 12, 3, 2, 0)


def test_national_day_week_is_skipped():
    # Wed 30 Sep 10:00 local; 1-7 Oct are public holidays or weekend -> 8, 9, 12 Oct
    ship_by, _, _ = promised(utc(2026, 9, 30, 2, 0), calendar("CN"))
    assert ship_by == utc(2026, 10, 12, 2, 0)


def test_shipping_moves_the_window_to_count_from_the_shipping_day():
    # shipped Mon 30 Nov 10:00 local: +12 -> Wed 16 Dec, +15 -> Mon 21 Dec
    _, start, end = promised(utc(2026, 11, 27, 2, 0), calendar(),
                             shipped_at=utc(2026, 11, 30, 2, 0))
    assert (start, end) == (utc(2026, 12, 16, 2, 0), utc(2026, 12, 21, 2, 0))


def test_shipping_at_night_counts_from_the_next_business_morning():
    # shipped Fri 4 Dec 22:00 local -> clock Mon 7 Dec 09:00; +12 -> Wed 23 Dec
    _, start, _ = promised(utc(2026, 12, 1, 2, 0), calendar(),
                           shipped_at=utc(2026, 12, 4, 14, 0))
    assert start == utc(2026, 12, 23, 1, 0)
