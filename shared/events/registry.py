"""Maps (event type, version) to its payload model, and event types to topics, from the payload modules."""

from __future__ import annotations

from shared.events.payloads import ALL_EVENTS
from shared.events.payloads.base import Payload


class Topic:
    """Logical topic names; the deployed name adds MCN_KAFKA_TOPIC_PREFIX."""

    EPISODES = "episodes"
    CLASSIFICATIONS = "classifications"
    RHI = "rhi"
    NOTIFICATIONS = "notifications"
    ALL = (EPISODES, CLASSIFICATIONS, RHI, NOTIFICATIONS)


DEAD_LETTER_SUFFIX = ".dlt"

PAYLOADS: dict[tuple[str, str], type[Payload]] = {(m.EVENT_TYPE, m.VERSION): m for m in ALL_EVENTS}
TOPIC_OF: dict[str, str] = {m.EVENT_TYPE: m.TOPIC for m in ALL_EVENTS}
assert set(TOPIC_OF.values()) <= set(Topic.ALL), "every payload names a known topic"


def payload_model(event_type: str, version: str) -> type[Payload] | None:
    """Return the model for a type and version, or None if unknown."""
    return PAYLOADS.get((event_type, version))


def topic_for(event_type: str) -> str:
    """Return the logical topic an event type is published on."""
    return TOPIC_OF[event_type]


def event_types(topic: str) -> list[str]:
    """Every event type published on a logical topic."""
    return sorted(t for t, name in TOPIC_OF.items() if name == topic)


def dead_letter_topic(topic: str) -> str:
    """Return the dead-letter topic for a (deployed) topic name."""
    return topic + DEAD_LETTER_SUFFIX
