"""Event payloads: one frozen model per event type and version, in one module per publishing service.

Import a payload from its module (`shared.events.payloads.rhi`); this package only collects them.
"""

from __future__ import annotations

from shared.events.payloads import classifier, episode, notification, rhi
from shared.events.payloads.base import Payload

ALL_EVENTS: tuple[type[Payload], ...] = episode.EVENTS + classifier.EVENTS + rhi.EVENTS + notification.EVENTS
