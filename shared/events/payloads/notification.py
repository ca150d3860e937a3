"""Events the notifier publishes on the `notifications` topic (key: delivery id).

`episode_id` (and `child_id` when the notice was about a known child) let the classifier's child
timeline show who was told what and when; no event here carries a name or a notice body.
"""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.payloads.base import Payload

TOPIC = "notifications"


class DeliveryOutcome(Payload):
    """Which notice, to whom, over which channel, about which episode or child, after how many attempts."""

    TOPIC = TOPIC

    delivery_id: str
    event_id: str
    event_type: str
    recipient_id: str
    audience: str
    channel: str
    attempts: int
    episode_id: str | None = None
    child_id: str | None = None
    at: AwareDatetime


class NotificationDelivered(DeliveryOutcome):
    """A notice reached its recipient."""

    EVENT_TYPE = "notification.delivered"


class NotificationFailed(DeliveryOutcome):
    """A notice could not be delivered within its retry budget (or was refused for good); it is dead-lettered."""

    EVENT_TYPE = "notification.failed"

    reason: str


class NotificationReplayed(DeliveryOutcome):
    """Ops replayed a dead delivery; it is pending again under the same id (recipients dedupe by it)."""

    EVENT_TYPE = "notification.replayed"

    actor: str  # the API key id of the ops principal
    reason: str


EVENTS: tuple[type[Payload], ...] = (NotificationDelivered, NotificationFailed, NotificationReplayed)
