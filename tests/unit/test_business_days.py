"""Business days and hours at UTC+8, public holidays of China and extra closed dates."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.business_days import BusinessCalendar, calendar_from_settings
from app.core.config import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = BusinessCalendar(
    timezone=SHANGHAI, opens=time(9), closes=time(18), country="CN", extra_holidays=frozenset()
)
ZONES = [UTC, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"),
         timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]
ARRIVALS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=st.sampled_from(ZONES),
)
DAYS = st.integers(min_value=0, max_value=30)
PROPERTY = settings(max_examples=200, deadline=None)


def local(*args: int) -> datetime:
    """A wall-clock time in Shanghai."""
    return datetime(*args, tzinfo=SHANGHAI)


def test_friday_just_before_closing_plus_two_days_is_tuesday_same_time():
    """Friday 17:59 is inside hours; two business days later is Tuesday 17:59."""
    due = CALENDAR.due_at(local(2026, 11, 27, 17, 59), 2)
    assert due == local(2026, 12, 1, 17, 59)
    assert due.tzinfo is UTC


def test_friday_at_closing_starts_the_clock_on_monday_morning():
    """Closing time itself is after hours."""
    assert CALENDAR.clock_start(local(2026, 11, 27, 18, 0)) == local(2026, 11, 30, 9, 0)


def test_saturday_arrival_starts_on_monday_morning():
    """Weekends are not business days."""
    assert CALENDAR.clock_start(local(2026, 11, 28, 11, 0)) == local(2026, 11, 30, 9, 0)


def test_early_arrival_starts_at_opening_the_same_day():
    """Before 9:00 on a business day the clock starts at 9:00."""
    assert CALENDAR.clock_start(local(2026, 11, 25, 7, 15)) == local(2026, 11, 25, 9, 0)


def test_arrival_in_business_hours_starts_at_once():
    """Inside business hours the clock starts at the arrival instant, in UTC."""
    arrival = local(2026, 11, 25, 9, 0)
    assert CALENDAR.clock_start(arrival) == arrival
    assert CALENDAR.clock_start(arrival).tzinfo is UTC


def test_national_day_holidays_are_skipped():
    """2026-10-01 (Thursday) starts a run of CN public holidays up to 2026-10-07."""
    assert not CALENDAR.is_business_day(date(2026, 10, 1))
    assert CALENDAR.clock_start(local(2026, 9, 30, 18, 30)) == local(2026, 10, 8, 9, 0)
    assert CALENDAR.due_at(local(2026, 9, 30, 10, 0), 1) == local(2026, 10, 8, 10, 0)


def test_extra_holiday_is_skipped():
    """A configured extra closed date is not a business day."""
    closed = BusinessCalendar(timezone=SHANGHAI, opens=time(9), closes=time(18), country="CN",
                              extra_holidays=frozenset({date(2026, 11, 30)}))
    assert not closed.is_business_day(date(2026, 11, 30))
    assert closed.due_at(local(2026, 11, 27, 10, 0), 1) == local(2026, 12, 1, 10, 0)
    assert closed.clock_start(local(2026, 11, 28, 10, 0)) == local(2026, 12, 1, 9, 0)


def test_seven_business_days_span_a_weekend():
    """Wednesday plus seven business days is Friday of the next week."""
    assert CALENDAR.due_at(local(2026, 11, 18, 14, 30), 7) == local(2026, 11, 27, 14, 30)


def test_utc_input_is_read_on_the_local_clock():
    """2026-11-27T10:30Z is Friday 18:30 at UTC+8, after hours."""
    arrival = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    assert CALENDAR.clock_start(arrival) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def test_holidays_across_the_year_boundary():
    """New Year's Day 2027 (Friday) is skipped from the last business day of 2026."""
    assert not CALENDAR.is_business_day(date(2027, 1, 1))
    assert CALENDAR.due_at(local(2026, 12, 31, 12, 0), 1) == local(2027, 1, 4, 12, 0)


def test_without_a_country_only_weekends_and_extra_dates_are_closed():
    """No country means no public holidays."""
    plain = BusinessCalendar(timezone=SHANGHAI, opens=time(9), closes=time(18), country=None)
    assert plain.is_business_day(date(2026, 10, 1))


def test_bad_input_is_refused():
    """Naive datetimes, negative days, starts outside hours and inverted hours raise."""
    with pytest.raises(ValueError):
        CALENDAR.clock_start(datetime(2026, 11, 25, 10, 0))
    with pytest.raises(ValueError):
        CALENDAR.due_at(local(2026, 11, 25, 10, 0), -1)
    with pytest.raises(ValueError):
        CALENDAR.add_business_days(local(2026, 11, 25, 19, 0), 1)
    with pytest.raises(ValueError):
        BusinessCalendar(timezone=SHANGHAI, opens=time(18), closes=time(9), country=None)


def test_calendar_from_settings_matches_the_defaults():
    """The default settings describe Shanghai hours 9:00-18:00 with CN holidays."""
    assert calendar_from_settings(Settings(_env_file=None)) == CALENDAR


def _in_business_hours(moment: datetime) -> bool:
    wall = moment.astimezone(SHANGHAI)
    return CALENDAR.is_business_day(wall.date()) and time(9) <= wall.time() < time(18)


@PROPERTY
@given(ARRIVALS, DAYS)
def test_due_at_is_inside_business_hours(arrival, days):
    """Every deadline falls on a business day inside [opens, closes), as aware UTC."""
    due = CALENDAR.due_at(arrival, days)
    assert due.tzinfo is UTC
    assert _in_business_hours(due)


@PROPERTY
@given(ARRIVALS)
def test_clock_never_starts_before_arrival(arrival):
    """The clock starts at or after the arrival, and due_at(x, 0) is that start."""
    start = CALENDAR.clock_start(arrival)
    assert start >= arrival
    assert _in_business_hours(start)
    assert CALENDAR.due_at(arrival, 0) == start


@PROPERTY
@given(ARRIVALS, ARRIVALS, DAYS)
def test_due_at_is_monotonic_in_arrival(first, second, days):
    """A later arrival never gets an earlier deadline."""
    early, late = sorted((first, second))
    assert CALENDAR.due_at(early, days) <= CALENDAR.due_at(late, days)


@PROPERTY
@given(ARRIVALS, st.integers(min_value=0, max_value=29))
def test_due_at_strictly_increases_with_days(arrival, days):
    """One more business day is always a later deadline."""
    assert CALENDAR.due_at(arrival, days) < CALENDAR.due_at(arrival, days + 1)
