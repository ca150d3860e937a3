"""Notifier use cases: route an event to deliveries, and record delivery outcomes. Never commit."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import SERVICE
from services.notifier.channels import Delivered, Failed, Outcome, RetryLater
from services.notifier.models import Delivery
from services.notifier.notices import builder_for
from shared.clock import Clock
from shared.events.codec import Decoded, to_event
from shared.events.payloads.base import Payload
from shared.events.payloads.notification import NotificationDelivered, NotificationFailed
from shared.outbox import add_event
from shared.policy import Policy

log = structlog.get_logger(__name__)


def responsible_la(payload: Payload) -> str | None:
    """The local authority an event is about, if it names one."""
    value = getattr(payload, "responsible_la", None)
    return value if isinstance(value, str) else None


async def route_event(session: AsyncSession, *, decoded: Decoded, policy: Policy, clock: Clock) -> list[Delivery]:
    """Create one pending delivery per (event, recipient, channel) for the event's recipients."""
    la = responsible_la(decoded.payload)
    if la is None:
        return []
    created = []
    for recipient in policy.notifications.recipients_for(decoded.event.type, la):
        build = builder_for(decoded.event.type, recipient.audience)
        if build is None:
            continue
        body = {"type": decoded.event.type, "timestamp": decoded.event.time.isoformat(), "data": build(decoded.payload)}
        for channel in recipient.channels:
            created.append(
                await _add_delivery(session, decoded, recipient.id, channel.type, recipient.audience, body, clock)
            )
    return created


async def _add_delivery(
    session: AsyncSession,
    decoded: Decoded,
    recipient_id: str,
    channel: str,
    audience: str,
    body: Mapping[str, object],
    clock: Clock,
) -> Delivery:
    existing = await session.scalar(
        select(Delivery).where(
            Delivery.event_id == decoded.event.id, Delivery.recipient_id == recipient_id, Delivery.channel == channel
        )
    )
    if existing is not None:
        return existing
    now = clock.now()
    delivery = Delivery(
        id="msg_" + uuid.uuid4().hex,
        event_id=decoded.event.id,
        event_type=decoded.event.type,
        recipient_id=recipient_id,
        channel=channel,
        audience=audience,
        status="pending",
        attempts=0,
        body=json.dumps(body, separators=(",", ":"), sort_keys=True),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    return delivery


def backoff(attempts: int, *, base: timedelta, cap: timedelta, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: uniform in [base, min(cap, base * 2**attempts)]."""
    ceiling: timedelta = min(cap, base * (2 ** min(attempts, 30)))
    return base + (ceiling - base) * rng.random()


def apply_outcome(
    session: AsyncSession,
    *,
    delivery: Delivery,
    outcome: Outcome,
    clock: Clock,
    max_attempts: int,
    next_delay: timedelta,
) -> None:
    """Record one attempt's outcome on a (session-attached) delivery and stage the outcome event."""
    now = clock.now()
    delivery.attempts += 1
    delivery.lease_until = None
    if isinstance(outcome, Delivered):
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
        _emit_outcome(session, delivery, None, clock)
        return
    delivery.last_error = outcome.reason
    if isinstance(outcome, Failed) or delivery.attempts >= max_attempts:
        delivery.status = "dead"
        reason = outcome.reason if isinstance(outcome, Failed) else f"retry budget spent: {outcome.reason}"
        _emit_outcome(session, delivery, reason, clock)
        log.warning("delivery.dead", delivery_id=delivery.id, recipient=delivery.recipient_id, reason=reason)
        return
    assert isinstance(outcome, RetryLater)
    delay = max(next_delay, outcome.after or timedelta(0))
    delivery.next_attempt_at = now + delay


def _emit_outcome(session: AsyncSession, delivery: Delivery, reason: str | None, clock: Clock) -> None:
    common = {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "recipient_id": delivery.recipient_id,
        "audience": delivery.audience,
        "channel": delivery.channel,
        "at": clock.now(),
        "attempts": delivery.attempts,
    }
    payload: Payload = (
        NotificationDelivered(**common) if reason is None else NotificationFailed(**common, reason=reason)
    )
    event = to_event(payload, source=SERVICE, time=clock.now(), subject=delivery.id)
    add_event(session, service=SERVICE, event=event, key=delivery.id, clock=clock)


def due_query(now: datetime, limit: int, *, lock: bool) -> Select[Delivery]:
    """Pending deliveries whose next attempt is due and that no dispatcher holds."""
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .where((Delivery.lease_until.is_(None)) | (Delivery.lease_until < now))
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query
