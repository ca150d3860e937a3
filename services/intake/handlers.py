"""Intake's read model: what the classifier and the tracker said about its episodes, for the police read-back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Episode
from shared.events.codec import Decoded
from shared.events.payloads import rhi
from shared.events.payloads.classifier import DecisionBase
from shared.events.registry import Topic, event_types
from shared.kafka.consumer import Handler


async def on_decision(session: AsyncSession, decoded: Decoded) -> None:
    """Remember the latest (re)classification of one of our episodes; the classifier keeps the history."""
    payload = decoded.payload
    assert isinstance(payload, DecisionBase)
    episode = await session.get(Episode, payload.episode_id)
    if episode is None:
        return
    episode.classification = {
        "classification": payload.classification.value,
        "rule_ids": list(payload.rule_ids),
        "reasons": list(payload.reasons),
        "ruleset_version": payload.ruleset_version,
        "decided_at": payload.decided_at.isoformat(),
        "trigger": payload.trigger,
    }


async def on_task_event(session: AsyncSession, decoded: Decoded) -> None:
    """Follow the interview task's state, deadline and breach (events of one episode arrive in order)."""
    payload = decoded.payload
    assert isinstance(payload, rhi.TaskEvent)
    episode = await session.get(Episode, payload.episode_id)
    if episode is None:
        return
    known = dict(episode.rhi or {})
    if known.get("task_id") not in (None, payload.task_id) and payload.EVENT_TYPE != "rhi.opened":
        return  # an event about an older task of this episode
    known.update(task_id=payload.task_id, due_at=payload.due_at.isoformat())
    known["status"] = rhi.STATUS_AFTER.get(payload.EVENT_TYPE, known.get("status", "open"))
    known.setdefault("breached", False)
    if isinstance(payload, rhi.RhiTaskBreached):
        known["breached"] = True
    if isinstance(payload, rhi.RhiInterviewCompleted):
        known["completed_on_time"] = payload.on_time
    episode.rhi = known


def handlers() -> dict[str, Handler]:
    """The handler table for the consumer loop."""
    table: dict[str, Handler] = {"episode.classified": on_decision, "episode.reclassified": on_decision}
    table.update({event_type: on_task_event for event_type in event_types(Topic.RHI)})
    return table
