"""What the tracker and the notifier say about an episode: interview status, findings, notifications.

These events may arrive before or after the classifier has seen the episode: they are stored by
episode id and the child's summary picks them up whenever both are known.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import children, timeline
from services.classifier.context import Context
from services.classifier.models import RhiStatus
from services.classifier.store import Store
from shared.events.payloads.notification import DeliveryOutcome, NotificationFailed
from shared.events.payloads.rhi import STATUS_AFTER, RhiDueChanged, RhiInterviewCompleted, RhiTaskBreached, TaskEvent

# Event type -> the task status it leaves; events not listed leave the status as it was. The summary
# also shows a breach, which the tracker keeps as a flag beside the status.
STATUS = {**STATUS_AFTER, RhiTaskBreached.EVENT_TYPE: "breached"}


async def task_event(session: AsyncSession, *, event_type: str, task: TaskEvent, event_id: str, ctx: Context) -> None:
    """Keep the episode's latest interview state and findings; add the event to the timeline."""
    store = Store.of(session)
    row = await store.rhi(task.episode_id)
    if row is None:
        row = RhiStatus(episode_id=task.episode_id, task_id=task.task_id, status="open", due_at=task.due_at, at=task.at)
        store.add_rhi(row)
    row.task_id, row.due_at, row.at = task.task_id, task.due_at, task.at
    row.status = STATUS.get(event_type, row.status)
    summary = (
        f"{event_type.removeprefix('rhi.')}: interview task for {task.responsible_la}, due {task.due_at.isoformat()}"
    )
    if isinstance(task, RhiInterviewCompleted):
        row.on_time = task.on_time
        row.findings = task.findings.model_dump(
            mode="json", include={"push_factors", "pull_factors", "exploitation_indicators", "places"}
        )
        summary += " (on time)" if task.on_time else " (late)"
    if isinstance(task, RhiDueChanged):
        summary += f" (was {task.previous_due_at.isoformat()})"
    detail = {"task_id": task.task_id, "status": row.status, "on_time": row.on_time, "actor": task.actor}
    timeline.add(session, event_id, task.episode_id, None, event_type, summary, task.at, detail)
    episode = await store.episode(task.episode_id)
    if episode is not None:
        await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=task.episode_id)


def delivery(session: AsyncSession, *, event_type: str, outcome: DeliveryOutcome, event_id: str) -> None:
    """A notice about an episode or child was delivered, or failed for good."""
    verb = "delivered" if event_type == "notification.delivered" else "failed"
    summary = f"notice {outcome.event_type} {verb} to {outcome.recipient_id} ({outcome.audience}, {outcome.channel})"
    detail = {"delivery_id": outcome.delivery_id, "attempts": outcome.attempts}
    if isinstance(outcome, NotificationFailed):
        detail["reason"] = outcome.reason[:200]
    timeline.add(session, event_id, outcome.episode_id, outcome.child_id, event_type, summary, outcome.at, detail)
