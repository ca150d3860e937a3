"""Pure deadline arithmetic: absolute clock hours in UTC, so clock changes cannot shift a deadline.

A task's deadline row remembers how many reminders and escalation steps it has handled and whether
it breached; `plan` says what is due at `now` and the row after it, and `next_check` when the sweep
must look again (None: never, e.g. every step done).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.clock import ensure_utc
from shared.policy.rhi import EscalationStep


def due_at(returned_at: datetime, deadline: timedelta) -> datetime:
    """The interview is due `deadline` after the return, counted in elapsed hours."""
    return ensure_utc(returned_at) + deadline


@dataclass(frozen=True)
class Schedule:
    """The deadline state of one open task."""

    returned_at: datetime
    due_at: datetime
    reminders_sent: int = 0  # policy reminders handled (sent, or skipped because the deadline came first)
    breached: bool = False
    escalations_sent: int = 0


@dataclass(frozen=True)
class Reminder:
    """A reminder point after the return passed."""

    after_return: timedelta


@dataclass(frozen=True)
class Breach:
    """The deadline passed."""


@dataclass(frozen=True)
class Escalation:
    """An escalation step after the breach was reached."""

    step: EscalationStep


Due = Reminder | Breach | Escalation


def plan(
    s: Schedule, now: datetime, reminders: tuple[timedelta, ...], escalations: tuple[EscalationStep, ...]
) -> tuple[list[Due], Schedule]:
    """What is due at `now`, in order (reminders, breach, escalations), and the schedule after it."""
    actions: list[Due] = []
    i = s.reminders_sent
    while i < len(reminders):
        at = s.returned_at + reminders[i]
        if at < s.due_at and now < s.due_at:
            if at > now:
                break
            actions.append(Reminder(reminders[i]))
        i += 1  # a reminder at or after the deadline is never sent: the breach says more
    breached = s.breached or now >= s.due_at
    if breached and not s.breached:
        actions.append(Breach())
    j = s.escalations_sent
    while breached and j < len(escalations) and s.due_at + escalations[j].after_breach <= now:
        actions.append(Escalation(escalations[j]))
        j += 1
    return actions, replace(s, reminders_sent=i, breached=breached, escalations_sent=j)


def next_check(
    s: Schedule, reminders: tuple[timedelta, ...], escalations: tuple[EscalationStep, ...]
) -> datetime | None:
    """When the sweep must next look at this task; None when nothing is left to do."""
    if not s.breached:
        pending = [s.returned_at + r for r in reminders[s.reminders_sent :] if s.returned_at + r < s.due_at]
        return min([*pending, s.due_at])
    if s.escalations_sent < len(escalations):
        return s.due_at + escalations[s.escalations_sent].after_breach
    return None
