"""Notifier event handlers: every routable event becomes deliveries."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import service
from services.notifier.notices import BUILDERS
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.kafka.consumer import Handler
from shared.policy import Policy


def handlers(*, policy: Policy, clock: Clock) -> dict[str, Handler]:
    """One routing handler for every event type some audience may be told about."""

    async def on_event(session: AsyncSession, decoded: Decoded) -> None:
        await service.route_event(session, decoded=decoded, policy=policy, clock=clock)

    return {event_type: on_event for event_type, _ in BUILDERS}
