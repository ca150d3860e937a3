"""RHI deadlines count elapsed hours, so UK clock changes cannot move them; reminders, breach, escalations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.rhi_tracker.deadlines import Breach, Escalation, Reminder, Schedule, due_at, next_check, plan
from shared.policy.rhi import EscalationStep

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


# Reminders, breach and escalation arithmetic: plan and next_check.

RETURNED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
REMINDERS = (24 * H, 48 * H)
STEPS = (EscalationStep(id="tm", name="Team manager", after_breach=24 * H),)
FRESH = Schedule(returned_at=RETURNED, due_at=RETURNED + H72)


def at(hours: float) -> datetime:
    return RETURNED + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0, []),
        (23.99, []),
        (24, [Reminder(24 * H)]),
        (50, [Reminder(24 * H), Reminder(48 * H)]),
        (72, [Breach()]),  # a sweep that comes late skips reminders the breach makes stale
        (96, [Breach(), Escalation(STEPS[0])]),
    ],
)
def test_plan_from_a_fresh_task(hours: float, expected: list[object]) -> None:
    actions, _ = plan(FRESH, at(hours), REMINDERS, STEPS)
    assert actions == expected


def test_plan_walks_the_schedule_once() -> None:
    schedule, seen = FRESH, []
    for hours in (24, 30, 48, 71, 72, 80, 96, 200):
        actions, schedule = plan(schedule, at(hours), REMINDERS, STEPS)
        seen += [(hours, a) for a in actions]
    assert seen == [(24, Reminder(24 * H)), (48, Reminder(48 * H)), (72, Breach()), (96, Escalation(STEPS[0]))]
    assert schedule == Schedule(RETURNED, RETURNED + H72, reminders_sent=2, breached=True, escalations_sent=1)
    assert next_check(schedule, REMINDERS, STEPS) is None


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (FRESH, at(24)),
        (Schedule(RETURNED, RETURNED + H72, reminders_sent=1), at(48)),
        (Schedule(RETURNED, RETURNED + H72, reminders_sent=2), at(72)),
        (Schedule(RETURNED, RETURNED + H72, reminders_sent=2, breached=True), at(96)),
        (Schedule(RETURNED, RETURNED + H72, reminders_sent=2, breached=True, escalations_sent=1), None),
    ],
)
def test_next_check(schedule: Schedule, expected: datetime | None) -> None:
    assert next_check(schedule, REMINDERS, STEPS) == expected


def test_reminders_at_or_after_the_deadline_are_never_sent() -> None:
    short = Schedule(returned_at=RETURNED, due_at=RETURNED + 30 * H)
    assert next_check(short, REMINDERS, ()) == at(24)
    actions, after = plan(short, at(24), REMINDERS, ())
    assert actions == [Reminder(24 * H)]
    assert next_check(after, REMINDERS, ()) == at(30), "the 48 h reminder falls after the deadline"
    actions, after = plan(after, at(30), REMINDERS, ())
    assert actions == [Breach()]
    assert after.reminders_sent == 2


def test_no_reminders_configured_checks_only_at_the_deadline() -> None:
    assert next_check(FRESH, (), ()) == RETURNED + H72


def test_the_breach_of_a_return_before_the_october_change_is_72_elapsed_hours_later() -> None:
    returned = datetime(2026, 10, 24, 9, 0, tzinfo=LONDON)  # Saturday, BST; clocks go back Sunday 02:00
    due = due_at(returned, H72)
    schedule = Schedule(returned_at=returned.astimezone(UTC), due_at=due)
    assert plan(schedule, due - timedelta(seconds=1), (), ())[0] == []
    assert plan(schedule, due, (), ())[0] == [Breach()]
    assert due.astimezone(LONDON).hour == 8, "the wall clock shows 08:00: one hour earlier, 72 hours elapsed"


def test_the_breach_of_a_return_before_the_march_change_is_72_elapsed_hours_later() -> None:
    returned = datetime(2026, 3, 28, 9, 0, tzinfo=LONDON)  # Saturday, GMT; clocks go forward Sunday 01:00
    due = due_at(returned, H72)
    assert due - returned.astimezone(UTC) == H72
    assert due.astimezone(LONDON).hour == 10, "the wall clock shows 10:00: one hour later, 72 hours elapsed"
