"""RHI tracker use cases driven by episode and classification events: take the session, never commit.

Events reach the tracker on two topics, so a classification may come before or after the report
and the return; every use case here works in either order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.deadlines import due_at
from services.rhi_tracker.emit import emit
from services.rhi_tracker.lifecycle import active_task, open_task, reconcile_child, reschedule, task_of, transition
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.states import Action, Status
from shared.clock import Clock
from shared.errors import PermanentError
from shared.events.codes import Classification
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.classifier import DecisionBase
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReturned, EpisodeSnapshot, EpisodeUpdated
from shared.events.payloads.rhi import RhiDueChanged, RhiTaskCancelled, RhiTaskReassigned
from shared.policy.rhi import RhiPolicy

log = structlog.get_logger(__name__)
CORRECTED = "the police corrected the return time"


def needs_interview(episode: TrackedEpisode, policy: RhiPolicy) -> bool | None:
    """Whether a returned episode gets an interview; None while that waits for its classification."""
    if episode.cancelled_at is not None:
        return False
    if episode.classification == Classification.MISSING or policy.rhi_for_absent:
        return True
    return False if episode.classification == Classification.ABSENT else None


async def _apply(
    session: AsyncSession,
    *,
    episode_id: str,
    force: str,
    police_reference: str,
    version: int,
    reported_at: datetime,
    risk_grade: str,
    child: ChildRecord,
) -> TrackedEpisode:
    """Create or refresh the episode from a version of its record; an older version never overwrites a newer."""
    episode = await session.get(TrackedEpisode, episode_id, with_for_update=True)
    if episode is None:
        episode = TrackedEpisode(episode_id=episode_id, episode_version=0)
        session.add(episode)
    if version < episode.episode_version:
        return episode
    episode.force, episode.police_reference, episode.episode_version = force, police_reference, version
    episode.reported_at, episode.risk_grade = reported_at, risk_grade
    episode.child = child.model_dump(mode="json")
    episode.responsible_la, episode.host_la = child.responsible_la, child.host_la
    episode.looked_after, episode.police_person_id = child.looked_after, child.police_person_id
    return episode


async def _apply_snapshot(session: AsyncSession, snapshot: EpisodeSnapshot) -> TrackedEpisode:
    return await _apply(
        session,
        episode_id=snapshot.episode_id,
        force=snapshot.force,
        police_reference=snapshot.police_reference,
        version=snapshot.version,
        reported_at=snapshot.reported_at,
        risk_grade=snapshot.risk_grade.value,
        child=snapshot.child,
    )


async def track_reported(session: AsyncSession, *, reported: EpisodeSnapshot, clock: Clock) -> TrackedEpisode:
    """Remember the episode; if the child went missing again before an interview, supersede that task."""
    episode = await _apply_snapshot(session, reported)
    await session.flush()
    await reconcile_child(session, episode=episode, clock=clock)
    return episode


async def track_updated(session: AsyncSession, *, updated: EpisodeUpdated, clock: Clock) -> TrackedEpisode:
    """Keep the child record current; a corrected responsible or host authority moves the open task with it."""
    episode = await _apply_snapshot(session, updated)
    task = await active_task(session, episode_id=episode.episode_id)
    if task is not None and (task.responsible_la, task.host_la) != (episode.responsible_la, episode.host_la):
        now = clock.now()
        previous = {"previous_responsible_la": task.responsible_la, "previous_host_la": task.host_la}
        task.responsible_la, task.host_la = episode.responsible_la, episode.host_la
        task.version, task.updated_at = task.version + 1, now
        emit(
            session,
            task=task,
            episode=episode,
            event=RhiTaskReassigned,
            at=now,
            clock=clock,
            reason=updated.reason,
            **previous,
        )
    await session.flush()
    await reconcile_child(session, episode=episode, clock=clock)
    return episode


async def track_decision(
    session: AsyncSession, *, decision: DecisionBase, policy: RhiPolicy, deadline: timedelta, clock: Clock
) -> TrackedEpisode:
    """Record a (re)classification and the child it belongs to; open a task that was waiting for it."""
    facts = decision.episode
    episode = await _apply(
        session,
        episode_id=decision.episode_id,
        force=facts.force,
        police_reference=facts.police_reference,
        version=facts.version,
        reported_at=facts.reported_at,
        risk_grade=facts.risk_grade.value,
        child=facts.child,
    )
    episode.classification, episode.child_id = decision.classification.value, decision.child_id
    await session.flush()
    await _open_if_due(session, episode=episode, policy=policy, deadline=deadline, clock=clock)
    await reconcile_child(session, episode=episode, clock=clock)
    return episode


async def track_link(session: AsyncSession, *, episode_id: str, child_id: str, clock: Clock) -> None:
    """The classifier (or an MSET coordinator) said which child an episode belongs to."""
    episode = await session.get(TrackedEpisode, episode_id, with_for_update=True)
    if episode is None:
        return  # the classification event, which carries the whole episode, will bring it
    episode.child_id = child_id
    await session.flush()
    await reconcile_child(session, episode=episode, clock=clock)


async def track_returned(
    session: AsyncSession, *, returned: EpisodeReturned, policy: RhiPolicy, deadline: timedelta, clock: Clock
) -> Task | None:
    """Open the interview task on return (or keep it pending its classification); a corrected return moves the due."""
    episode = await session.get(TrackedEpisode, returned.episode_id, with_for_update=True)
    if episode is None:
        raise PermanentError(f"return for unknown episode {returned.episode_id}")
    task = await task_of(session, episode_id=episode.episode_id)
    if task is not None:
        if task.returned_at != returned.returned_at:
            correct_return(
                session, task=task, episode=episode, returned=returned, policy=policy, deadline=deadline, clock=clock
            )
        return task
    episode.returned_at = returned.returned_at
    return await _open_if_due(session, episode=episode, policy=policy, deadline=deadline, clock=clock)


async def _open_if_due(
    session: AsyncSession, *, episode: TrackedEpisode, policy: RhiPolicy, deadline: timedelta, clock: Clock
) -> Task | None:
    if episode.returned_at is None or await task_of(session, episode_id=episode.episode_id) is not None:
        return None
    decision = needs_interview(episode, policy)
    if decision is None:
        log.info("rhi.awaiting_classification", episode_id=episode.episode_id)
    if not decision:
        return None
    return await open_task(session, episode=episode, deadline=deadline, policy=policy, clock=clock)


def correct_return(
    session: AsyncSession,
    *,
    task: Task,
    episode: TrackedEpisode,
    returned: EpisodeReturned,
    policy: RhiPolicy,
    deadline: timedelta,
    clock: Clock,
) -> None:
    """Recompute the due time from the corrected return (audited as rhi.due_changed); deadlines follow it."""
    now = clock.now()
    previous_returned_at, previous_due_at = task.returned_at, task.due_at
    episode.returned_at = task.returned_at = returned.returned_at
    task.due_at = due_at(returned.returned_at, deadline)
    if task.completed_at is not None:
        task.on_time = task.completed_at <= task.due_at
    task.version, task.updated_at = task.version + 1, now
    reschedule(task, policy)
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiDueChanged,
        at=now,
        clock=clock,
        reason=returned.correction_reason or CORRECTED,
        status=task.status,
        on_time=task.on_time,
        previous_returned_at=previous_returned_at,
        previous_due_at=previous_due_at,
    )


async def track_cancelled(session: AsyncSession, *, cancelled: EpisodeCancelled, clock: Clock) -> None:
    """An episode reported in error: its open task is cancelled, and no task will open for it."""
    episode = await session.get(TrackedEpisode, cancelled.episode_id, with_for_update=True)
    if episode is None:
        return
    episode.cancelled_at = cancelled.cancelled_at
    task = await active_task(session, episode_id=episode.episode_id)
    if task is None:
        return
    now = clock.now()
    reason = cancelled.reason.value + (f": {cancelled.detail}" if cancelled.detail else "")
    transition(task, Action.CANCEL, now)
    task.outcome_reason = reason[:1000]
    emit(session, task=task, episode=episode, event=RhiTaskCancelled, at=now, clock=clock, reason=reason)
    log.info("rhi.cancelled", task_id=task.id, episode_id=episode.episode_id, status=Status.CANCELLED.value)
