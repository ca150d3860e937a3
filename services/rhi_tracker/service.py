"""RHI tracker use cases: take the session, never commit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker import SERVICE
from services.rhi_tracker.deadlines import due_at
from services.rhi_tracker.models import Task, TrackedEpisode
from shared.clock import Clock
from shared.errors import PermanentError
from shared.events.codec import to_event
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.classifier import EpisodeClassified
from shared.events.payloads.episode import EpisodeReported, EpisodeReturned
from shared.events.payloads.rhi import RhiTaskOpened
from shared.outbox import add_event


async def track_reported(session: AsyncSession, *, reported: EpisodeReported) -> None:
    """Remember the episode so a task can be opened when the child returns."""
    if await session.get(TrackedEpisode, reported.episode_id) is not None:
        return
    session.add(
        TrackedEpisode(
            episode_id=reported.episode_id,
            force=reported.force,
            police_reference=reported.police_reference,
            responsible_la=reported.child.responsible_la,
            host_la=reported.child.host_la,
            child=reported.child.model_dump(mode="json"),
            reported_at=reported.reported_at,
        )
    )


async def track_classified(session: AsyncSession, *, classified: EpisodeClassified) -> None:
    """Record the latest classification of a tracked episode."""
    episode = await session.get(TrackedEpisode, classified.episode_id)
    if episode is not None:
        episode.classification = classified.classification.value


async def open_task(
    session: AsyncSession, *, returned: EpisodeReturned, deadline: timedelta, clock: Clock, correlationid: str | None
) -> Task:
    """Open the interview task for a returned child, due `deadline` after the return, and stage rhi.opened."""
    existing = await session.scalar(select(Task).where(Task.episode_id == returned.episode_id))
    if existing is not None:
        return existing
    episode = await session.get(TrackedEpisode, returned.episode_id)
    if episode is None:
        raise PermanentError(f"return for unknown episode {returned.episode_id}")
    now = clock.now()
    task = Task(
        id=str(uuid.uuid4()),
        episode_id=episode.episode_id,
        responsible_la=episode.responsible_la,
        status="open",
        returned_at=returned.returned_at,
        due_at=due_at(returned.returned_at, deadline),
        opened_at=now,
    )
    session.add(task)
    payload = RhiTaskOpened(
        task_id=task.id,
        episode_id=episode.episode_id,
        force=episode.force,
        police_reference=episode.police_reference,
        responsible_la=episode.responsible_la,
        host_la=episode.host_la,
        child=ChildRecord.model_validate(episode.child),
        returned_at=task.returned_at,
        due_at=task.due_at,
        at=now,
        classification=episode.classification,
    )
    event = to_event(payload, source=SERVICE, time=now, subject=episode.episode_id, correlationid=correlationid)
    add_event(session, service=SERVICE, event=event, key=episode.episode_id, clock=clock)
    return task
