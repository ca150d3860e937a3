"""Every task transition is one event through the outbox and one history row, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker import SERVICE
from services.rhi_tracker.models import Task, TaskHistory, TrackedEpisode
from shared import outbox
from shared.clock import Clock
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.rhi import TaskEvent


def emit(
    session: AsyncSession,
    *,
    task: Task,
    episode: TrackedEpisode,
    event: type[TaskEvent],
    at: datetime,
    clock: Clock,
    actor: str | None = None,
    reason: str | None = None,
    **extra: Any,
) -> TaskEvent:
    """Stage one task event (keyed by episode id) and its history row; the caller commits."""
    payload = event(
        task_id=task.id,
        episode_id=episode.episode_id,
        force=episode.force,
        police_reference=episode.police_reference,
        responsible_la=task.responsible_la,
        host_la=task.host_la,
        child=ChildRecord.model_validate(episode.child),
        returned_at=task.returned_at,
        due_at=task.due_at,
        at=at,
        actor=actor,
        reason=reason,
        **extra,
    )
    key = episode.episode_id
    cloud = outbox.emit(session, payload, service=SERVICE, key=key, clock=clock, correlationid=key, time=at)
    detail = payload.model_dump(mode="json", include=set(extra))
    session.add(
        TaskHistory(
            task_id=task.id,
            event_id=cloud.id,
            event_type=event.EVENT_TYPE,
            at=at,
            actor=actor,
            reason=reason,
            detail=detail,
        )
    )
    return payload
