"""Maps (event type, version) to its payload model, and event types to topics."""

from __future__ import annotations

from shared.events.payloads import (
    EpisodeCancelled,
    EpisodeClassified,
    EpisodeReported,
    EpisodeReturned,
    EpisodeUpdated,
    NotificationDelivered,
    NotificationFailed,
    Payload,
    RhiTaskOpened,
)


class Topic:
    """Logical topic names; the deployed name adds MCN_KAFKA_TOPIC_PREFIX."""

    EPISODES = "episodes"
    CLASSIFICATIONS = "classifications"
    RHI = "rhi"
    NOTIFICATIONS = "notifications"
    ALL = (EPISODES, CLASSIFICATIONS, RHI, NOTIFICATIONS)


DEAD_LETTER_SUFFIX = ".dlt"

PAYLOADS: dict[tuple[str, str], type[Payload]] = {
    (model.EVENT_TYPE, model.VERSION): model
    for model in (
        EpisodeReported,
        EpisodeUpdated,
        EpisodeReturned,
        EpisodeCancelled,
        EpisodeClassified,
        RhiTaskOpened,
        NotificationDelivered,
        NotificationFailed,
    )
}

TOPIC_OF = {
    "episode.reported": Topic.EPISODES,
    "episode.updated": Topic.EPISODES,
    "episode.returned": Topic.EPISODES,
    "episode.cancelled": Topic.EPISODES,
    "episode.classified": Topic.CLASSIFICATIONS,
    "rhi.opened": Topic.RHI,
    "notification.delivered": Topic.NOTIFICATIONS,
    "notification.failed": Topic.NOTIFICATIONS,
}


def payload_model(event_type: str, version: str) -> type[Payload] | None:
    """Return the model for a type and version, or None if unknown."""
    return PAYLOADS.get((event_type, version))


def topic_for(event_type: str) -> str:
    """Return the logical topic an event type is published on."""
    return TOPIC_OF[event_type]


def dead_letter_topic(topic: str) -> str:
    """Return the dead-letter topic for a (deployed) topic name."""
    return topic + DEAD_LETTER_SUFFIX
