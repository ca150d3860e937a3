"""What each audience may see: a notice is built from the audience's field set, never by deleting fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.events.payloads.base import Payload
from shared.events.payloads.rhi import RhiTaskOpened
from shared.policy.notifications import Audience

Builder = Callable[[Payload], dict[str, Any]]


def rhi_opened_for_social_care(payload: Payload) -> dict[str, Any]:
    """The RHI provider needs who, which episode, and when the interview is due."""
    assert isinstance(payload, RhiTaskOpened)
    return {
        "task_id": payload.task_id,
        "episode_id": payload.episode_id,
        "force": payload.force,
        "police_reference": payload.police_reference,
        "responsible_la": payload.responsible_la,
        "host_la": payload.host_la,
        "child": {
            "given_name": payload.child.given_name,
            "family_name": payload.child.family_name,
            "date_of_birth": payload.child.date_of_birth.isoformat(),
            "looked_after": payload.child.looked_after,
        },
        "returned_at": payload.returned_at.isoformat(),
        "due_at": payload.due_at.isoformat(),
    }


BUILDERS: dict[tuple[str, Audience], Builder] = {
    ("rhi.opened", Audience.SOCIAL_CARE): rhi_opened_for_social_care,
}


def builder_for(event_type: str, audience: Audience) -> Builder | None:
    """The notice builder for an event type and audience, if that audience may hear of it."""
    return BUILDERS.get((event_type, audience))
