"""Task changes every use case shares: open, move through the state machine, reschedule, supersede."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.deadlines import Schedule, due_at, next_check
from services.rhi_tracker.emit import emit
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.states import ACTIVE, Action, Status, after
from shared.clock import Clock
from shared.events.payloads.rhi import RhiTaskOpened, RhiTaskSuperseded
from shared.policy.rhi import RhiPolicy

SUPERSEDED_REASON = "the child went missing again before the interview"


def schedule_of(task: Task) -> Schedule:
    """The deadline state of a task row."""
    return Schedule(
        returned_at=task.returned_at,
        due_at=task.due_at,
        reminders_sent=task.reminders_sent,
        breached=task.breached_at is not None,
        escalations_sent=task.escalations_sent,
    )


def reschedule(task: Task, policy: RhiPolicy) -> None:
    """Set when the sweep must next look at the task (never, once it is no longer open)."""
    active = Status(task.status) in ACTIVE
    task.next_check_at = next_check(schedule_of(task), policy.reminders, policy.escalations) if active else None


def transition(task: Task, action: Action, now: datetime) -> Status:
    """Apply one state-machine step (or raise IllegalTransition); a closed task leaves the sweep."""
    status = after(Status(task.status), action)
    task.status, task.version, task.updated_at = status.value, task.version + 1, now
    if status not in ACTIVE:
        task.next_check_at = None
        if status is not Status.COMPLETED:
            task.closed_at = now
    return status


async def open_task(
    session: AsyncSession, *, episode: TrackedEpisode, deadline: timedelta, policy: RhiPolicy, clock: Clock
) -> Task:
    """Open the returned child's interview task, due `deadline` after the return; stage rhi.opened."""
    assert episode.returned_at is not None
    now = clock.now()
    task = Task(
        id=str(uuid.uuid4()),
        episode_id=episode.episode_id,
        responsible_la=episode.responsible_la,
        host_la=episode.host_la,
        status=Status.OPEN.value,
        version=1,
        returned_at=episode.returned_at,
        due_at=due_at(episode.returned_at, deadline),
        opened_at=now,
        updated_at=now,
        reminders_sent=0,
        escalations_sent=0,
    )
    reschedule(task, policy)
    session.add(task)
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiTaskOpened,
        at=now,
        clock=clock,
        classification=episode.classification,
    )
    # A later episode's report may have been processed first (another partition): this task is covered already.
    await supersede_if_followed(session, task=task, episode=episode, clock=clock)
    return task


def supersede(session: AsyncSession, *, task: Task, episode: TrackedEpisode, by: TrackedEpisode, clock: Clock) -> None:
    """The child went missing again: the task closes, linked to the new episode, and never breaches."""
    now = clock.now()
    transition(task, Action.SUPERSEDE, now)
    task.superseded_by_episode_id = by.episode_id
    task.outcome_reason = SUPERSEDED_REASON
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiTaskSuperseded,
        at=now,
        clock=clock,
        reason=SUPERSEDED_REASON,
        superseded_by_episode_id=by.episode_id,
    )


def same_child(episode: TrackedEpisode) -> ColumnElement[bool] | None:
    """Episodes of the same child: the classifier's child id, or the police person id within the force."""
    matches: list[ColumnElement[bool]] = []
    if episode.child_id is not None:
        matches.append(TrackedEpisode.child_id == episode.child_id)
    if episode.police_person_id is not None:
        matches.append(
            and_(TrackedEpisode.force == episode.force, TrackedEpisode.police_person_id == episode.police_person_id)
        )
    return or_(*matches) if matches else None


async def later_episode(session: AsyncSession, *, episode: TrackedEpisode, after: datetime) -> TrackedEpisode | None:
    """The first episode of the same child reported at or after `after` (and not cancelled), if any."""
    match = same_child(episode)
    if match is None:
        return None
    query = (
        select(TrackedEpisode)
        .where(
            match,
            TrackedEpisode.episode_id != episode.episode_id,
            TrackedEpisode.reported_at >= after,
            TrackedEpisode.cancelled_at.is_(None),
        )
        .order_by(TrackedEpisode.reported_at)
        .limit(1)
    )
    return await session.scalar(query)


async def reconcile_child(session: AsyncSession, *, episode: TrackedEpisode, clock: Clock) -> None:
    """Supersede open tasks of the same child that this episode follows, or its own if another follows it."""
    if same_child(episode) is None or episode.cancelled_at is not None:
        return
    await supersede_earlier(session, episode=episode, clock=clock)
    own = await active_task(session, episode_id=episode.episode_id)
    await supersede_if_followed(session, task=own, episode=episode, clock=clock)


async def supersede_earlier(session: AsyncSession, *, episode: TrackedEpisode, clock: Clock) -> None:
    """Supersede the open tasks of the same child returned by the time this episode was reported."""
    match = same_child(episode)
    if match is None or episode.cancelled_at is not None:
        return
    earlier = (
        select(Task, TrackedEpisode)
        .join(TrackedEpisode, TrackedEpisode.episode_id == Task.episode_id)
        .where(
            match,
            Task.episode_id != episode.episode_id,
            Task.status.in_([s.value for s in ACTIVE]),
            Task.returned_at <= episode.reported_at,
        )
        .with_for_update(of=Task)
    )
    for task, other in (await session.execute(earlier)).all():
        supersede(session, task=task, episode=other, by=episode, clock=clock)


async def supersede_if_followed(
    session: AsyncSession, *, task: Task | None, episode: TrackedEpisode, clock: Clock
) -> None:
    """Supersede the episode's task (as the caller read it) if it is open and a later episode of the child exists."""
    if task is None or Status(task.status) not in ACTIVE or episode.cancelled_at is not None:
        return
    later = await later_episode(session, episode=episode, after=task.returned_at)
    if later is not None:
        supersede(session, task=task, episode=episode, by=later, clock=clock)


async def active_task(session: AsyncSession, *, episode_id: str) -> Task | None:
    """The episode's task if it is still open or offered, locked for this transaction."""
    query = select(Task).where(Task.episode_id == episode_id, Task.status.in_([s.value for s in ACTIVE]))
    return await session.scalar(query.with_for_update())


async def task_of(session: AsyncSession, *, episode_id: str) -> Task | None:
    """The episode's task in any state, locked for this transaction."""
    return await session.scalar(select(Task).where(Task.episode_id == episode_id).with_for_update())
