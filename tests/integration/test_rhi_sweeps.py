"""The deadline sweep with a frozen clock, on SQLite and PostgreSQL: reminders, one breach, escalations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.models import Task
from services.rhi_tracker.sweep import deadline_sweep
from shared.clock import FrozenClock
from shared.policy.rhi import EscalationStep, RhiPolicy
from shared.sweeps import Sweeper
from tests.integration.test_rhi_handlers import H72, T0, Tracker, child, reported, returned, when

H = timedelta(hours=1)
STEPS = (
    EscalationStep(id="team-manager", name="Team manager", after_breach=24 * H),
    EscalationStep(id="head-of-service", name="Head of service", after_breach=72 * H),
)


async def open_one(tracker: Tracker, episode_id: str = "e1", person: str | None = None) -> None:
    who = child(person=person or f"P-{episode_id}")
    await tracker.deliver(reported(episode_id, T0 - 5 * H, who=who), returned(episode_id, T0))


async def test_reminders_at_24_and_48_hours_then_exactly_one_breach_at_72(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tracker = Tracker(sessions)
    await open_one(tracker)
    assert await tracker.sweep(T0 + 24 * H - timedelta(seconds=1)) == 0
    assert await tracker.sweep(T0 + 24 * H) == 1
    assert await tracker.sweep(T0 + 30 * H) == 0
    assert await tracker.sweep(T0 + 48 * H) == 1
    assert await tracker.sweep(T0 + 72 * H - timedelta(seconds=1)) == 0
    assert await tracker.sweep(T0 + 72 * H) == 1
    for later in (73, 100, 500):
        assert await tracker.sweep(T0 + later * H) == 0
    assert await tracker.types() == ["rhi.opened", "rhi.reminder", "rhi.reminder", "rhi.breached"]
    reminders = await tracker.events("rhi.reminder")
    assert [r["after_return"] for r in reminders] == ["P1D", "P2D"]
    [breach] = await tracker.events("rhi.breached")
    assert (breach["status"], when(breach["at"]), breach["actor"]) == ("open", T0 + H72, None)
    task = await tracker.task("e1")
    assert task is not None
    assert (task.breached_at, task.next_check_at, task.version) == (T0 + H72, None, 1)


async def test_a_late_sweep_skips_stale_reminders_and_breaches_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions)
    await open_one(tracker)
    assert await tracker.sweep(T0 + 80 * H) == 1, "the sweeper was down for days"
    assert await tracker.types() == ["rhi.opened", "rhi.breached"]
    task = await tracker.task("e1")
    assert task is not None
    assert task.breached_at is not None
    assert task.breached_at - task.due_at == 8 * H, "the lag is recorded: breach recorded - due"


async def test_escalation_steps_follow_the_breach(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(escalations=STEPS))
    await open_one(tracker)
    await tracker.sweep(T0 + H72)
    await tracker.sweep(T0 + H72 + 23 * H)
    assert await tracker.sweep(T0 + H72 + 24 * H) == 1
    assert await tracker.sweep(T0 + H72 + 71 * H) == 0
    assert await tracker.sweep(T0 + H72 + 72 * H) == 1
    assert await tracker.sweep(T0 + H72 + 1000 * H) == 0
    escalated = await tracker.events("rhi.escalated")
    assert [(e["step"], e["after_breach"], e["reason"]) for e in escalated] == [
        ("team-manager", "P1D", "Team manager"),
        ("head-of-service", "P3D", "Head of service"),
    ]
    assert len(await tracker.events("rhi.breached")) == 1


async def test_no_reminder_or_breach_for_closed_tasks(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(escalations=STEPS))
    for episode_id in ("e1", "e2"):
        await open_one(tracker, episode_id)
    # e1 is superseded by the same child's next report; e2 is still open
    await tracker.deliver(reported("e3", T0 + 10 * H, who=child(person="P-e1")))
    await tracker.sweep(T0 + 1000 * H)
    breaches = await tracker.events("rhi.breached")
    assert [b["episode_id"] for b in breaches] == ["e2"]
    assert {e["episode_id"] for e in await tracker.events("rhi.reminder")} == set()


async def test_completion_after_a_breach_stops_escalation(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(escalations=STEPS))
    await open_one(tracker)
    await tracker.sweep(T0 + H72 + H)
    async with sessions() as session, session.begin():
        await session.execute(update(Task).values(status="completed", next_check_at=None))
    assert await tracker.sweep(T0 + H72 + 500 * H) == 0
    assert await tracker.events("rhi.escalated") == []


async def test_a_corrected_return_moves_reminders_and_the_breach(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions)
    await open_one(tracker)
    await tracker.sweep(T0 + 24 * H)  # first reminder sent
    later = T0 + 10 * H
    await tracker.deliver(returned("e1", later, correction="returned in the evening, not the morning"))
    assert await tracker.sweep(T0 + 48 * H) == 0, "the 48 h reminder now falls 10 h later"
    assert await tracker.sweep(later + 48 * H) == 1
    assert await tracker.sweep(T0 + H72) == 0, "the old due time passes quietly"
    assert await tracker.sweep(later + H72) == 1
    [breach] = await tracker.events("rhi.breached")
    assert when(breach["due_at"]) == later + H72
    assert await tracker.types() == ["rhi.opened", "rhi.reminder", "rhi.due_changed", "rhi.reminder", "rhi.breached"]


async def test_an_earlier_corrected_return_can_breach_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions)
    await open_one(tracker)
    tracker.clock.set(T0 + 60 * H)
    await tracker.deliver(returned("e1", T0 - 20 * H, correction="found the evening before"))
    assert await tracker.sweep() == 1
    assert await tracker.types() == ["rhi.opened", "rhi.due_changed", "rhi.breached"]


async def test_passes_claim_in_batches_and_leave_not_due_tasks_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(reminders=()))
    for i in range(7):
        await open_one(tracker, f"e{i}")
    for i in range(7, 10):  # returned a day later: not due with the others
        await tracker.deliver(reported(f"e{i}", T0, who=child(person=f"P-e{i}")), returned(f"e{i}", T0 + 24 * H))
    commits: list[int] = []
    clock = FrozenClock(T0 + H72)
    sweeper = Sweeper(sessions=sessions, clock=clock, after_commit=lambda: commits.append(1))
    sweep = deadline_sweep(policy=RhiPolicy(reminders=()), clock=clock, every=timedelta(seconds=1), batch=3)
    assert await sweeper.run(sweep) == 7
    assert len(commits) == 3, "passes of 3, 3 and 1"
    assert len(await tracker.events("rhi.breached")) == 7


async def test_two_sweepers_in_one_process_breach_each_task_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(reminders=()))
    for i in range(30):
        await open_one(tracker, f"e{i}")
    clock = FrozenClock(T0 + H72)
    sweep = deadline_sweep(policy=RhiPolicy(reminders=()), clock=clock, every=timedelta(seconds=1), batch=4)
    sweepers = [Sweeper(sessions=sessions, clock=clock, after_commit=lambda: None) for _ in range(2)]
    handled = await asyncio.gather(*(s.run(sweep) for s in sweepers))
    assert sum(handled) == 30
    breaches = await tracker.events("rhi.breached")
    assert sorted(b["episode_id"] for b in breaches) == sorted(f"e{i}" for i in range(30))
