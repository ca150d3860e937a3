"""School-morning and digest arithmetic with a frozen clock: weekends, holidays, the minute around 08:00, DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifier.timing import next_digest, next_school_morning
from shared.clock import FrozenClock
from shared.policy.notifications import DigestSchedule, SchoolMornings

LONDON = ZoneInfo("Europe/London")
MORNINGS = SchoolMornings(holidays=[date(2026, 4, 6), date(2026, 12, 25), date(2026, 12, 28)])


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.mark.parametrize(
    ("event", "release"),
    [
        ("2026-03-07 14:00", "2026-03-09 08:00"),  # scenario 7: Saturday report -> Monday
        ("2026-03-08 10:00", "2026-03-09 08:00"),  # Sunday return -> Monday
        ("2026-03-08 23:55", "2026-03-09 08:00"),  # a return late on a Sunday evening -> Monday
        ("2026-03-06 21:30", "2026-03-09 08:00"),  # Friday evening -> Monday, not the weekend
        ("2026-03-09 07:59", "2026-03-09 08:00"),  # before the release time: the same morning
        ("2026-03-09 08:00", "2026-03-09 08:00"),  # at it: now
        ("2026-03-09 08:01", "2026-03-10 08:00"),  # after it: the next school day
        ("2026-03-10 15:00", "2026-03-11 08:00"),  # a school afternoon -> tomorrow morning
        ("2026-04-04 11:00", "2026-04-07 08:00"),  # Easter Saturday, holiday Monday -> Tuesday
        ("2026-04-06 07:00", "2026-04-07 08:00"),  # on the holiday itself
        ("2026-12-24 18:00", "2026-12-29 08:00"),  # Christmas Eve: Friday holiday, weekend, holiday Monday
        ("2026-03-28 10:00", "2026-03-30 08:00"),  # clocks go forward on Sunday 29 March: still 08:00 local
        ("2026-10-24 10:00", "2026-10-26 08:00"),  # clocks go back on Sunday 25 October
    ],
)
def test_next_school_morning(event: str, release: str) -> None:
    clock = FrozenClock(london(event))
    released = next_school_morning(clock.now(), MORNINGS)
    assert released.utcoffset() == timedelta(0), "stored in UTC"
    assert released.astimezone(LONDON) == london(release)


def test_the_release_time_is_configurable() -> None:
    mornings = SchoolMornings(release_at=time(7, 30))
    assert next_school_morning(london("2026-03-09 07:45"), mornings) == london("2026-03-10 07:30")
    assert next_school_morning(london("2026-03-09 07:15"), mornings) == london("2026-03-09 07:30")


def test_a_clock_in_another_zone_gives_the_same_instant() -> None:
    utc_evening = datetime.fromisoformat("2026-06-07T22:30:00+00:00")  # Sunday 23:30 BST
    assert next_school_morning(utc_evening, MORNINGS) == london("2026-06-08 08:00")


def test_a_year_of_holidays_is_refused() -> None:
    every_day = SchoolMornings(holidays=[date(2026, 1, 1) + timedelta(days=n) for n in range(500)])
    with pytest.raises(ValueError, match="no release day"):
        next_school_morning(london("2026-01-01 09:00"), every_day)


@pytest.mark.parametrize(
    ("now", "release"),
    [
        ("2026-03-09 08:59", "2026-03-09 09:00"),
        ("2026-03-09 09:01", "2026-03-09 16:00"),
        ("2026-03-09 16:01", "2026-03-11 09:00"),  # Tuesday is not a digest day
        ("2026-03-13 17:00", "2026-03-16 09:00"),  # Friday evening -> Monday
    ],
)
def test_next_digest(now: str, release: str) -> None:
    schedule = DigestSchedule(times=[time(16, 0), time(9, 0)], days=["mon", "wed", "thu", "fri"])
    assert next_digest(london(now), schedule) == london(release)
