"""Business days and hours: the one clock behind every deadline the privacy policy promises."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from app.core.config import Settings

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays of `country` in `year`, computed once per (country, year)."""
    return frozenset(holidays.country_holidays(country, years=year))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days (Mon-Fri minus holidays) and opening hours [opens, closes) in `timezone`."""

    timezone: ZoneInfo
    opens: time
    closes: time
    country: str | None
    extra_holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opening hours are local wall-clock times without a time zone")
        if not self.opens < self.closes:
            raise ValueError("business hours must open before they close")
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        if self.country is not None:
            holidays.country_holidays(self.country)  # unknown country: NotImplementedError now

    def is_business_day(self, day: date) -> bool:
        """Whether `day` is Monday to Friday and neither a public nor an extra holiday."""
        if day.weekday() >= 5 or day in self.extra_holidays:
            return False
        return self.country is None or day not in _public_holidays(self.country, day.year)

    def clock_start(self, received_at: datetime) -> datetime:
        """The instant (UTC) the clock starts for something received at `received_at`."""
        local = self._local(received_at)
        day, now = local.date(), local.time()
        if self.is_business_day(day):
            if self.opens <= now < self.closes:
                return received_at.astimezone(UTC)
            if now < self.opens:
                return self._at(day, self.opens)
        return self._at(self._next_business_day(day), self.opens)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day `days` business days after `start` (in business hours)."""
        if days < 0:
            raise ValueError("days must not be negative")
        local = self._local(start)
        day, now = local.date(), local.time()
        if not (self.is_business_day(day) and self.opens <= now < self.closes):
            raise ValueError("start is outside business hours; call clock_start first")
        if days == 0:
            return start.astimezone(UTC)
        for _ in range(days):
            day = self._next_business_day(day)
        return self._at(day, now.replace(fold=0))

    def due_at(self, received_at: datetime, days: int) -> datetime:
        """The deadline (UTC) `days` business days after the clock starts for `received_at`."""
        return self.add_business_days(self.clock_start(received_at), days)

    def _local(self, moment: datetime) -> datetime:
        """`moment` on the local wall clock; naive datetimes are refused."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required")
        return moment.astimezone(self.timezone)

    def _next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        day += ONE_DAY
        while not self.is_business_day(day):
            day += ONE_DAY
        return day

    def _at(self, day: date, wall: time) -> datetime:
        """Local wall-clock `wall` on `day`, as UTC."""
        return datetime.combine(day, wall, tzinfo=self.timezone).astimezone(UTC)


def calendar_from_settings(settings: Settings) -> BusinessCalendar:
    """The business calendar the service's settings describe."""
    return BusinessCalendar(
        timezone=ZoneInfo(settings.business_timezone),
        opens=settings.business_day_start,
        closes=settings.business_day_end,
        country=settings.holiday_country,
        extra_holidays=frozenset(settings.extra_holidays),
    )
