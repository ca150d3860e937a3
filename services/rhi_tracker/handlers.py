"""RHI tracker event handlers, one per consumed event type."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker import service
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.events.payloads.classifier import ChildEpisodeLinked, ChildEpisodeUnlinked, DecisionBase
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReported, EpisodeReturned, EpisodeUpdated
from shared.kafka.consumer import Handler
from shared.policy.rhi import RhiPolicy


def handlers(*, clock: Clock, deadline: timedelta, policy: RhiPolicy | None = None) -> dict[str, Handler]:
    """The handler table for the consumer loop (policy defaults to the shipped RHI defaults)."""
    rules = policy or RhiPolicy()

    async def on_reported(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReported)
        await service.track_reported(session, reported=decoded.payload, clock=clock)

    async def on_updated(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeUpdated)
        await service.track_updated(session, updated=decoded.payload, clock=clock)

    async def on_returned(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReturned)
        await service.track_returned(session, returned=decoded.payload, policy=rules, deadline=deadline, clock=clock)

    async def on_cancelled(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeCancelled)
        await service.track_cancelled(session, cancelled=decoded.payload, clock=clock)

    async def on_decision(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, DecisionBase)
        await service.track_decision(session, decision=decoded.payload, policy=rules, deadline=deadline, clock=clock)

    async def on_link(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, ChildEpisodeLinked | ChildEpisodeUnlinked)
        payload = decoded.payload
        await service.track_link(session, episode_id=payload.episode_id, child_id=payload.child_id, clock=clock)

    return {
        "episode.reported": on_reported,
        "episode.updated": on_updated,
        "episode.returned": on_returned,
        "episode.cancelled": on_cancelled,
        "episode.classified": on_decision,
        "episode.reclassified": on_decision,
        "child.episode_linked": on_link,
        "child.episode_unlinked": on_link,
    }
