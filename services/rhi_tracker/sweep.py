"""The deadline sweep: claims tasks whose next check is due and emits their reminders, breach and escalations.

The claim reads the `next_check_at` index only (rows not yet due are never touched, so a pass costs
the same with ten thousand or a million open tasks) and locks what it takes with SKIP LOCKED on
PostgreSQL: replicas share the work, and each marker is written with its event in one transaction,
so a task breaches exactly once even if a sweeper dies mid-pass (its transaction rolls back).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.deadlines import Breach, Escalation, Reminder, plan
from services.rhi_tracker.emit import emit
from services.rhi_tracker.lifecycle import reschedule, schedule_of
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.states import ACTIVE, Status
from shared.clock import Clock
from shared.events.payloads.rhi import RhiReminderDue, RhiTaskBreached, RhiTaskEscalated
from shared.policy.rhi import RhiPolicy
from shared.sweeps import Sweep, claim

log = structlog.get_logger(__name__)
SWEEP_NAME = "rhi-deadlines"


def deadline_sweep(*, policy: RhiPolicy, clock: Clock, every: timedelta, batch: int) -> Sweep:
    """The sweep the composition root schedules (and tests run directly with a frozen clock)."""

    async def work(session: AsyncSession, now: datetime) -> int:
        return await sweep_due(session, now=now, policy=policy, clock=clock, batch=batch)

    return Sweep(name=SWEEP_NAME, every=every, work=work, batch=batch)


async def sweep_due(session: AsyncSession, *, now: datetime, policy: RhiPolicy, clock: Clock, batch: int) -> int:
    """One pass: handle up to `batch` tasks whose next check is due at `now`; return how many."""
    due = select(Task.id).where(Task.next_check_at <= now).order_by(Task.next_check_at).limit(batch)
    # claim() is typed for SQLAlchemy 2.0's Select[tuple[...]]; 2.1 types a one-column select as Select[str].
    ids: list[str] = list((await session.scalars(claim(cast("Select[Any]", due), session))).all())
    if not ids:
        return 0
    tasks = list(await session.scalars(select(Task).where(Task.id.in_(ids)).order_by(Task.next_check_at)))
    ids = [t.episode_id for t in tasks]
    episodes = {
        e.episode_id: e for e in await session.scalars(select(TrackedEpisode).where(TrackedEpisode.episode_id.in_(ids)))
    }
    for task in tasks:
        check(session, task=task, episode=episodes[task.episode_id], now=now, policy=policy, clock=clock)
    return len(tasks)


def check(
    session: AsyncSession, *, task: Task, episode: TrackedEpisode, now: datetime, policy: RhiPolicy, clock: Clock
) -> None:
    """Emit what is due for one task and move its next check on."""
    if Status(task.status) not in ACTIVE:  # closed by a transaction that did not clear its check
        task.next_check_at = None
        return
    actions, after = plan(schedule_of(task), now, policy.reminders, policy.escalations)
    for action in actions:
        if isinstance(action, Reminder):
            emit(
                session,
                task=task,
                episode=episode,
                event=RhiReminderDue,
                at=now,
                clock=clock,
                after_return=action.after_return,
            )
        elif isinstance(action, Breach):
            emit(session, task=task, episode=episode, event=RhiTaskBreached, at=now, clock=clock, status=task.status)
            task.breached_at = now
            log.info("rhi.breached", task_id=task.id, lag_s=(now - task.due_at).total_seconds())
        elif isinstance(action, Escalation):
            step = action.step
            emit(
                session,
                task=task,
                episode=episode,
                event=RhiTaskEscalated,
                at=now,
                clock=clock,
                reason=step.name,
                step=step.id,
                after_breach=step.after_breach,
            )
    task.reminders_sent, task.escalations_sent = after.reminders_sent, after.escalations_sent
    reschedule(task, policy)
