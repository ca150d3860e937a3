"""Classifier event handlers, one per consumed event type."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import service
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.events.payloads.episode import EpisodeReported
from shared.kafka.consumer import Handler


def handlers(clock: Clock) -> dict[str, Handler]:
    """The handler table for the consumer loop."""

    async def on_reported(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReported)
        await service.classify_reported(
            session, reported=decoded.payload, clock=clock, correlationid=decoded.event.correlationid
        )

    return {"episode.reported": on_reported}
