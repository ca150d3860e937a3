"""Delivery rows: one per (event, recipient, channel), never doubled. Take the session, never commit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.models import Delivery, DeliveryStatus
from shared.clock import Clock
from shared.policy.notifications import Recipient


def to_json(body: dict[str, Any]) -> str:
    """A notice body as the exact bytes every attempt sends (and signs)."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class About:
    """What a notice is about, kept on its delivery for the ops log and outcome events (never a name)."""

    episode_id: str | None
    child_id: str | None
    local_authority: str | None


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


async def add_deliveries(
    session: AsyncSession,
    *,
    recipient: Recipient,
    event_id: str,
    event_type: str,
    body: str,
    about: About | Delivery,
    statutory: bool,
    clock: Clock,
    channels: Sequence[str] | None = None,
) -> list[Delivery]:
    """One pending delivery per (event, recipient, channel); an existing one is kept, never doubled."""
    created = []
    for channel in channels or [c.type for c in recipient.channels]:
        existing = await session.scalar(
            select(Delivery).where(
                Delivery.event_id == event_id, Delivery.recipient_id == recipient.id, Delivery.channel == channel
            )
        )
        if existing is not None:
            continue
        now = clock.now()
        delivery = Delivery(
            id="msg_" + uuid.uuid4().hex,
            event_id=event_id,
            event_type=event_type,
            recipient_id=recipient.id,
            channel=channel,
            audience=recipient.audience.value,
            status=DeliveryStatus.PENDING,
            attempts=0,
            body=body,
            created_at=now,
            next_attempt_at=now,
            episode_id=about.episode_id,
            child_id=about.child_id,
            local_authority=about.local_authority,
            statutory=statutory,
            parent_id=about.id if isinstance(about, Delivery) else None,
            replays=0,
        )
        session.add(delivery)
        created.append(delivery)
    return created
