"""Social-care reads: the worklist and one task with its history; a task of another LA does not exist."""

from __future__ import annotations

import base64
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.models import Task, TaskHistory, TrackedEpisode
from services.rhi_tracker.schemas import ChildBrief, HistoryOut, Outcome, TaskOut, TaskPage, TaskSummary
from services.rhi_tracker.states import Status
from shared.errors import InvalidInput, NotFound
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.rhi import Findings

LONDON = ZoneInfo("Europe/London")


async def find_task(session: AsyncSession, *, la: str, task_id: str, lock: bool = False) -> tuple[Task, TrackedEpisode]:
    """One of the LA's tasks and its episode; another LA's task is a 404, never its data."""
    query = select(Task).where(Task.id == task_id)
    task = await session.scalar(query.with_for_update() if lock else query)
    if task is None or task.responsible_la != la:
        raise NotFound(f"no interview task {task_id} for local authority {la}")
    episode = await session.get(TrackedEpisode, task.episode_id)
    assert episode is not None, "a task's episode is never deleted"
    return task, episode


def summary(task: Task, episode: TrackedEpisode) -> TaskSummary:
    """The worklist view of a task."""
    return TaskSummary(
        id=task.id,
        episode_id=task.episode_id,
        force=episode.force,
        police_reference=episode.police_reference,
        status=Status(task.status),
        version=task.version,
        responsible_la=task.responsible_la,
        host_la=task.host_la,
        child=_brief(episode),
        returned_at=task.returned_at,
        due_at=task.due_at,
        due_local=task.due_at.astimezone(LONDON).isoformat(),
        breached_at=task.breached_at,
        offered_at=task.offered_at,
        completed_at=task.completed_at,
        on_time=task.on_time,
    )


def _brief(episode: TrackedEpisode) -> ChildBrief:
    child = episode.child
    return ChildBrief(
        given_name=child["given_name"],
        family_name=child["family_name"],
        date_of_birth=child["date_of_birth"],
        looked_after=bool(child.get("looked_after")),
    )


def _outcome(task: Task) -> Outcome | None:
    if task.outcome_reason is None and not task.outcome:
        return None
    return Outcome(reason=task.outcome_reason, **(task.outcome or {}))


async def read_task(session: AsyncSession, *, la: str, task_id: str) -> TaskOut:
    """A task with its findings, outcome and every transition."""
    task, episode = await find_task(session, la=la, task_id=task_id)
    return await detail(session, task, episode)


async def detail(session: AsyncSession, task: Task, episode: TrackedEpisode) -> TaskOut:
    """The detail view of a task already loaded."""
    rows = await session.scalars(select(TaskHistory).where(TaskHistory.task_id == task.id).order_by(TaskHistory.id))
    return TaskOut(
        **summary(task, episode).model_dump(),
        child_record=ChildRecord.model_validate(episode.child),
        classification=episode.classification,
        opened_at=task.opened_at,
        updated_at=task.updated_at,
        offer_method=task.offer_method,
        findings=Findings.model_validate(task.findings) if task.findings else None,
        outcome=_outcome(task),
        superseded_by_episode_id=task.superseded_by_episode_id,
        reminders_sent=task.reminders_sent,
        escalations_sent=task.escalations_sent,
        history=[HistoryOut.model_validate(h, from_attributes=True) for h in rows],
    )


def _cursor(task: Task) -> str:
    return base64.urlsafe_b64encode(f"{task.due_at.isoformat()}|{task.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        when, _, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(when), task_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "cursor is not one this API issued", errors=[{"pointer": "/cursor", "message": "invalid"}]
        ) from None


async def worklist(
    session: AsyncSession,
    *,
    la: str,
    statuses: list[Status],
    due_after: datetime | None,
    due_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> TaskPage:
    """The LA's tasks in the given states and due window, soonest due first."""
    query = (
        select(Task, TrackedEpisode)
        .join(TrackedEpisode, TrackedEpisode.episode_id == Task.episode_id)
        .where(Task.responsible_la == la, Task.status.in_([s.value for s in statuses]))
    )
    if due_after is not None:
        query = query.where(Task.due_at >= due_after)
    if due_before is not None:
        query = query.where(Task.due_at < due_before)
    if cursor is not None:
        when, task_id = _decode_cursor(cursor)
        query = query.where(tuple_(Task.due_at, Task.id) > tuple_(when, task_id))
    rows = (await session.execute(query.order_by(Task.due_at, Task.id).limit(limit + 1))).all()
    more = len(rows) > limit
    items = [summary(t, e) for t, e in rows[:limit]]
    return TaskPage(items=items, next_cursor=_cursor(rows[limit - 1][0]) if more else None)
