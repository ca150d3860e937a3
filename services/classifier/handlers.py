"""Classifier event handlers, one per consumed event type."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import service, tracking
from services.classifier.context import Context
from services.classifier.identity import match_key
from services.classifier.store import Person, Store, serialise
from shared.events.codec import Decoded
from shared.events.payloads import notification, rhi
from shared.events.payloads.episode import (
    EpisodeCancelled,
    EpisodeReported,
    EpisodeReturned,
    EpisodeSnapshot,
    EpisodeUpdated,
)
from shared.events.payloads.notification import DeliveryOutcome
from shared.events.payloads.rhi import TaskEvent
from shared.kafka.consumer import Handler


def handlers(ctx: Context) -> dict[str, Handler]:
    """The handler table for the consumer loop: episodes, interview tasks, notifications."""

    async def on_reported(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReported)
        event = decoded.event
        await service.episode_reported(
            session, reported=decoded.payload, event_id=event.id, ctx=ctx, correlationid=event.correlationid
        )

    async def on_updated(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeUpdated)
        event = decoded.event
        await service.episode_updated(
            session, updated=decoded.payload, event_id=event.id, ctx=ctx, correlationid=event.correlationid
        )

    async def on_returned(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReturned)
        event = decoded.event
        await service.episode_returned(
            session, returned=decoded.payload, event_id=event.id, ctx=ctx, correlationid=event.correlationid
        )

    async def on_cancelled(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeCancelled)
        event = decoded.event
        await service.episode_cancelled(
            session, cancelled=decoded.payload, event_id=event.id, ctx=ctx, correlationid=event.correlationid
        )

    async def on_task(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, TaskEvent)
        await tracking.task_event(
            session, event_type=decoded.event.type, task=decoded.payload, event_id=decoded.event.id, ctx=ctx
        )

    async def on_delivery(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, DeliveryOutcome)
        tracking.delivery(session, event_type=decoded.event.type, outcome=decoded.payload, event_id=decoded.event.id)

    table: dict[str, Handler] = {
        "episode.reported": on_reported,
        "episode.updated": on_updated,
        "episode.returned": on_returned,
        "episode.cancelled": on_cancelled,
    }
    table.update({model.EVENT_TYPE: on_task for model in rhi.EVENTS})
    table.update({model.EVENT_TYPE: on_delivery for model in notification.EVENTS})
    return {event_type: serialised(handler) for event_type, handler in table.items()}


def serialised(handler: Handler) -> Handler:
    """Run a handler holding the classifier's writer lock (see store.serialise)."""

    async def run(session: AsyncSession, decoded: Decoded) -> None:
        await serialise(session)
        await handler(session, decoded)

    return run


async def prefetch(session: AsyncSession, events: Sequence[Decoded]) -> None:
    """Load, in a few queries, every row a batch of events may touch (the consumer loop calls it per batch)."""
    await serialise(session)
    ids: list[str] = []
    keys: list[str] = []
    persons: list[Person] = []
    for decoded in events:
        payload = decoded.payload
        episode_id = getattr(payload, "episode_id", None)
        if isinstance(episode_id, str):
            ids.append(episode_id)
        if isinstance(payload, EpisodeSnapshot):
            child = payload.child
            keys.append(match_key(child.given_name, child.family_name, child.date_of_birth))
            if child.police_person_id is not None:
                persons.append((payload.force, child.police_person_id))
    await Store.of(session).prefetch(ids, keys, persons)
