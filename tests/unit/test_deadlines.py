"""RHI deadlines count elapsed hours, so UK clock changes cannot move them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.rhi_tracker.deadlines import due_at

LONDON = ZoneInfo("Europe/London")
H72 = timedelta(hours=72)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (datetime(2026, 6, 1, 10, 0, tzinfo=LONDON), datetime(2026, 6, 4, 10, 0, tzinfo=LONDON)),
        (datetime(2026, 10, 23, 10, 0, tzinfo=LONDON), datetime(2026, 10, 26, 9, 0, tzinfo=LONDON)),
        (datetime(2026, 3, 27, 10, 0, tzinfo=LONDON), datetime(2026, 3, 30, 11, 0, tzinfo=LONDON)),
        (datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=1), datetime(2026, 10, 28, 1, 30, tzinfo=LONDON)),
        (datetime(2026, 1, 5, 23, 59, tzinfo=UTC), datetime(2026, 1, 8, 23, 59, tzinfo=UTC)),
    ],
)
def test_due_at_is_72_elapsed_hours(returned: datetime, expected: datetime) -> None:
    result = due_at(returned, H72)
    assert result == expected
    assert result.tzinfo is UTC
    assert result.timestamp() - returned.timestamp() == H72.total_seconds()


def test_wall_clock_shifts_across_the_autumn_change() -> None:
    local = due_at(datetime(2026, 10, 23, 10, 0, tzinfo=LONDON), H72).astimezone(LONDON)
    assert (local.day, local.hour, local.tzname()) == (26, 9, "GMT")


def test_wall_clock_shifts_across_the_spring_change() -> None:
    local = due_at(datetime(2026, 3, 27, 10, 0, tzinfo=LONDON), H72).astimezone(LONDON)
    assert (local.day, local.hour, local.tzname()) == (30, 11, "BST")


@pytest.mark.parametrize("deadline", [timedelta(hours=1), timedelta(hours=72), timedelta(days=5, minutes=30)])
def test_due_at_adds_the_deadline(deadline: timedelta) -> None:
    returned = datetime(2026, 2, 1, 8, 15, tzinfo=UTC)
    assert due_at(returned, deadline) - returned == deadline


def test_naive_return_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        due_at(datetime(2026, 10, 23, 10, 0), H72)
