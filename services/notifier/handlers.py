"""Notifier event handlers, one per consumed event type: routable events become deliveries or held
notices; returns and cancellations change what held school notices will say (or stop them)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import held, service
from services.notifier.notices import ROUTABLE
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReturned
from shared.kafka.consumer import Handler
from shared.policy import Policy


def handlers(*, policy: Policy, clock: Clock) -> dict[str, Handler]:
    """The handler table for the consumer loop."""

    async def on_routable(session: AsyncSession, decoded: Decoded) -> None:
        await service.route_event(session, decoded=decoded, policy=policy, clock=clock)

    async def on_returned(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReturned)
        await held.record_return(
            session, returned=decoded.payload, event_id=decoded.event.id, policy=policy, clock=clock
        )

    async def on_cancelled(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeCancelled)
        await held.record_cancel(session, cancelled=decoded.payload, clock=clock)

    table: dict[str, Handler] = dict.fromkeys(sorted(ROUTABLE), on_routable)
    return table | {"episode.returned": on_returned, "episode.cancelled": on_cancelled}
