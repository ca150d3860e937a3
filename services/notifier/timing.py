"""When held notices go out: the next school morning, the next digest time. Pure arithmetic on aware datetimes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.clock import ensure_utc
from shared.policy.notifications import WEEKDAYS, DigestSchedule, SchoolMornings

SEARCH_DAYS = 400  # a year of holidays cannot hide every school day


def next_school_morning(now: datetime, mornings: SchoolMornings) -> datetime:
    """The first release time at or after `now` on a school day (not a weekend or a configured holiday)."""
    holidays = frozenset(mornings.holidays)
    return _next_local(now, ZoneInfo(mornings.timezone), [mornings.release_at], _school_day(holidays))


def next_digest(now: datetime, schedule: DigestSchedule) -> datetime:
    """The first digest time at or after `now` on a digest day."""
    days = frozenset(WEEKDAYS.index(d) for d in schedule.days)
    return _next_local(now, ZoneInfo(schedule.timezone), schedule.times, lambda d: d.weekday() in days)


def _school_day(holidays: frozenset[date]) -> Callable[[date], bool]:
    return lambda d: d.weekday() < 5 and d not in holidays


def _next_local(now: datetime, zone: ZoneInfo, times: list[time], is_day: Callable[[date], bool]) -> datetime:
    local = ensure_utc(now).astimezone(zone)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        if is_day(day):
            for t in sorted(times):
                candidate = datetime.combine(day, t, tzinfo=zone)
                if candidate >= local:
                    return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise ValueError("no release day within a year")
