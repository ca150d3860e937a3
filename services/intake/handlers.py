"""Intake's read model: what the classifier and the tracker said about its episodes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Episode
from shared.events.codec import Decoded
from shared.events.payloads.classifier import EpisodeClassified
from shared.events.payloads.rhi import RhiTaskOpened
from shared.kafka.consumer import Handler


async def on_classified(session: AsyncSession, decoded: Decoded) -> None:
    """Remember the latest classification of one of our episodes."""
    payload = decoded.payload
    assert isinstance(payload, EpisodeClassified)
    episode = await session.get(Episode, payload.episode_id)
    if episode is not None:
        episode.classification = payload.model_dump(mode="json", exclude={"episode_id"})


async def on_rhi_opened(session: AsyncSession, decoded: Decoded) -> None:
    """Remember that an interview task was opened."""
    payload = decoded.payload
    assert isinstance(payload, RhiTaskOpened)
    episode = await session.get(Episode, payload.episode_id)
    if episode is not None:
        episode.rhi = {"task_id": payload.task_id, "status": "open", "due_at": payload.due_at.isoformat()}


def handlers() -> dict[str, Handler]:
    """The handler table for the consumer loop."""
    return {"episode.classified": on_classified, "rhi.opened": on_rhi_opened}
