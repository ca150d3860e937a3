"""Delivery outcomes: backoff, what each outcome does to a delivery, dead letters and replays. Never commit."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import SERVICE
from services.notifier.channels import FALLBACK, Delivered, Failed, Outcome, RetryLater
from services.notifier.deliveries import add_deliveries
from services.notifier.models import Delivery, DeliveryLogEntry, DeliveryStatus
from services.notifier.notices import DEAD_LETTER_ALERT, dead_letter_alert, envelope
from shared.clock import Clock
from shared.errors import Conflict, NotFound
from shared.events.payloads.base import Payload
from shared.events.payloads.notification import NotificationDelivered, NotificationFailed, NotificationReplayed
from shared.outbox import emit
from shared.policy import Policy
from shared.policy.notifications import Audience

log = structlog.get_logger(__name__)


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
) -> str:
    """Record one attempt's outcome on a delivery, log it, stage any outcome event; return the new status."""
    now = clock.now()
    delivery.attempts += 1
    delivery.lease_until = None
    if isinstance(outcome, Delivered):
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        _log(session, delivery, now, "delivered", outcome.detail)
        _emit(session, NotificationDelivered(**_common(delivery, now)), delivery, clock)
        return delivery.status
    delivery.last_error = outcome.reason
    if isinstance(outcome, Failed) or delivery.attempts >= max_attempts:
        reason = outcome.reason if isinstance(outcome, Failed) else f"retry budget spent: {outcome.reason}"
        delivery.status = DeliveryStatus.DEAD
        delivery.dead_at = now
        _log(session, delivery, now, "dead", reason)
        _emit(session, NotificationFailed(**_common(delivery, now), reason=reason), delivery, clock)
        log.warning("delivery.dead", delivery_id=delivery.id, recipient=delivery.recipient_id, reason=reason)
        return delivery.status
    assert isinstance(outcome, RetryLater)
    delivery.next_attempt_at = now + max(next_delay, outcome.after or timedelta(0))
    _log(session, delivery, now, "retry", outcome.reason)
    return delivery.status


def _log(
    session: AsyncSession,
    delivery: Delivery,
    now: datetime,
    outcome: str,
    detail: str | None,
    kind: str = "attempt",
    actor: str | None = None,
) -> None:
    entry = DeliveryLogEntry(delivery_id=delivery.id, at=now, kind=kind, outcome=outcome, detail=detail, actor=actor)
    session.add(entry)


def _common(delivery: Delivery, now: datetime) -> dict[str, object]:
    return {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "recipient_id": delivery.recipient_id,
        "audience": delivery.audience,
        "channel": delivery.channel,
        "attempts": delivery.attempts,
        "episode_id": delivery.episode_id,
        "child_id": delivery.child_id,
        "at": now,
    }


def _emit(session: AsyncSession, payload: Payload, delivery: Delivery, clock: Clock) -> None:
    emit(session, payload, service=SERVICE, key=delivery.id, clock=clock)


async def after_dead(session: AsyncSession, *, delivery: Delivery, policy: Policy, clock: Clock) -> list[Delivery]:
    """A dead delivery raises an ops alert and, for a statutory notice, tries the recipient's fallback channel."""
    created: list[Delivery] = []
    recipient = policy.notifications.recipient(delivery.recipient_id)
    if delivery.statutory and delivery.channel != FALLBACK and recipient is not None and recipient.fallback:
        created += await add_deliveries(
            session,
            recipient=recipient,
            channels=[FALLBACK],
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            body=delivery.body,
            about=delivery,
            statutory=True,
            clock=clock,
        )
    if delivery.event_type != DEAD_LETTER_ALERT:  # never alert about an alert
        created += await _alert_ops(session, delivery=delivery, policy=policy, clock=clock)
    return created


async def _alert_ops(session: AsyncSession, *, delivery: Delivery, policy: Policy, clock: Clock) -> list[Delivery]:
    partnership = policy.partnership_of(delivery.local_authority or "")
    role = policy.notifications.alert_role
    now = clock.now()
    data = dead_letter_alert(
        delivery_id=delivery.id,
        recipient_id=delivery.recipient_id,
        event_type=delivery.event_type,
        channel=delivery.channel,
        attempts=delivery.attempts,
        reason=delivery.last_error or "",
        episode_id=delivery.episode_id,
        local_authority=delivery.local_authority,
        dead_at=now,
    )
    created: list[Delivery] = []
    for r in policy.notifications.recipients:
        if r.role == role and r.audience is Audience.OPS and r.partnership == partnership and partnership:
            created += await add_deliveries(
                session,
                recipient=r,
                event_id=f"alert:{delivery.id}:{delivery.replays}",
                event_type=DEAD_LETTER_ALERT,
                body=json.dumps(envelope(DEAD_LETTER_ALERT, r.audience, now, data), separators=(",", ":")),
                about=delivery,
                statutory=False,
                clock=clock,
            )
    return created


async def replay(
    session: AsyncSession, *, delivery_id: str, authorities: frozenset[str], actor: str, reason: str, clock: Clock
) -> Delivery:
    """Make a dead delivery pending again under the same id, with a fresh retry budget; audited."""
    query = select(Delivery).where(Delivery.id == delivery_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()  # a second replay waits, then finds it pending
    row = await session.scalar(query)
    if row is None or row.local_authority not in authorities:
        raise NotFound(f"no delivery {delivery_id} for this partnership")
    if row.status != DeliveryStatus.DEAD:
        raise Conflict(f"delivery {delivery_id} is {row.status}; only a dead delivery can be replayed")
    now = clock.now()
    row.status, row.attempts, row.replays = DeliveryStatus.PENDING, 0, row.replays + 1
    row.next_attempt_at, row.lease_until, row.dead_at = now, None, None
    _log(session, row, now, "replayed", reason, kind="replay", actor=actor)
    _emit(session, NotificationReplayed(**_common(row, now), actor=actor, reason=reason), row, clock)
    log.info("delivery.replayed", delivery_id=row.id, actor=actor)
    return row


def due_query(now: datetime, limit: int, *, lock: bool) -> Select[Delivery]:
    """Pending deliveries whose next attempt is due and that no dispatcher holds."""
    query = (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .where((Delivery.lease_until.is_(None)) | (Delivery.lease_until < now))
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query
