"""Bodies of the ops delivery-log API: delivery metadata only, never a notice body (which holds child details)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Status = Literal["pending", "delivered", "dead"]

DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": "msg_5f0c8d2e9b7a4c1d8e6f5a4b3c2d1e0f",
    "event_id": "3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a090",
    "event_type": "rhi.opened",
    "recipient_id": "redcar-rhi",
    "channel": "webhook",
    "audience": "social_care",
    "status": "dead",
    "attempts": 8,
    "replays": 0,
    "statutory": True,
    "episode_id": "0b9f5e1c-6a2d-4f37-8c11-2d9e4b7a6c35",
    "child_id": None,
    "local_authority": "E06000003",
    "parent_id": None,
    "created_at": "2026-03-09T08:00:01Z",
    "next_attempt_at": "2026-03-09T09:02:11Z",
    "delivered_at": None,
    "dead_at": "2026-03-09T09:02:11Z",
    "last_error": "retry budget spent: HTTP 503",
}


class DeliveryView(BaseModel):
    """One delivery: which notice, to whom, over which channel, and where it stands. The webhook-id is `id`."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [DELIVERY_EXAMPLE]})

    id: str
    event_id: str
    event_type: str
    recipient_id: str
    channel: str
    audience: str
    status: Status
    attempts: int = Field(description="Attempts since it was created or last replayed")
    replays: int
    statutory: bool
    episode_id: str | None
    child_id: str | None
    local_authority: str | None
    parent_id: str | None = Field(description="The dead delivery this one is the fallback for, or the alert about")
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str | None


class LogEntryView(BaseModel):
    """One attempt or replay of a delivery."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: Literal["attempt", "replay"]
    outcome: Literal["delivered", "retry", "dead", "replayed"]
    detail: str | None
    actor: str | None = Field(description="The API key id of whoever replayed it")


class DeliveryDetail(DeliveryView):
    """A delivery with every attempt and replay, oldest first."""

    history: list[LogEntryView]


class DeliveryPage(BaseModel):
    """A page of deliveries, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[DeliveryView]
    next_cursor: str | None


class ReplayRequest(BaseModel):
    """Why a dead delivery is being sent again (kept in its history with who asked)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Redcar's receiver is back after the outage"}]}
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
