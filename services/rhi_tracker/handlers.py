"""RHI tracker event handlers, one per consumed event type."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker import service
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.events.payloads.classifier import EpisodeClassified
from shared.events.payloads.episode import EpisodeReported, EpisodeReturned
from shared.kafka.consumer import Handler


def handlers(*, clock: Clock, deadline: timedelta) -> dict[str, Handler]:
    """The handler table for the consumer loop."""

    async def on_reported(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReported)
        await service.track_reported(session, reported=decoded.payload)

    async def on_classified(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeClassified)
        await service.track_classified(session, classified=decoded.payload)

    async def on_returned(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReturned)
        await service.open_task(
            session, returned=decoded.payload, deadline=deadline, clock=clock, correlationid=decoded.event.correlationid
        )

    return {"episode.reported": on_reported, "episode.classified": on_classified, "episode.returned": on_returned}
