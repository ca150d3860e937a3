"""Delivery retry policy: jittered backoff, and what each outcome does to a delivery."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.channels import Delivered, Failed, Outcome, RetryLater
from services.notifier.channels.webhook import retry_after
from services.notifier.models import Delivery, DeliveryLogEntry
from services.notifier.outcomes import apply_outcome, backoff
from shared.clock import FrozenClock
from shared.events.codec import decode
from shared.events.payloads.notification import NotificationDelivered, NotificationFailed
from shared.outbox import OutboxMessage

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
BASE = timedelta(seconds=2)
CAP = timedelta(minutes=30)
MAX_ATTEMPTS = 8


class FakeSession:
    def __init__(self) -> None:
        self.rows: list[object] = []

    def add(self, row: object) -> None:
        self.rows.append(row)


def delivery(attempts: int = 0) -> Delivery:
    return Delivery(
        id="msg_0123456789abcdef",
        event_id="ev-1",
        event_type="rhi.opened",
        recipient_id="middlesbrough-rhi",
        channel="webhook",
        audience="social_care",
        status="pending",
        attempts=attempts,
        body="{}",
        created_at=NOW - timedelta(hours=1),
        next_attempt_at=NOW,
        lease_until=NOW + timedelta(seconds=60),
    )


def apply(row: Delivery, outcome: Outcome, next_delay: timedelta = BASE) -> FakeSession:
    session = FakeSession()
    apply_outcome(
        session,  # type: ignore[arg-type]
        delivery=row,
        outcome=outcome,
        clock=FrozenClock(NOW),
        max_attempts=MAX_ATTEMPTS,
        next_delay=next_delay,
    )
    return session


def staged(session: FakeSession) -> OutboxMessage:
    [row] = [r for r in session.rows if isinstance(r, OutboxMessage)]
    assert row.topic == "notifications"
    assert row.key == "msg_0123456789abcdef"
    return row


@pytest.mark.parametrize("attempts", [0, 1, 2, 5, 10, 11, 30, 31, 100])
def test_backoff_stays_in_its_window(attempts: int) -> None:
    ceiling = min(CAP.total_seconds(), BASE.total_seconds() * 2**attempts)
    delays = [backoff(attempts, base=BASE, cap=CAP, rng=random.Random(seed)) for seed in range(200)]
    assert all(BASE.total_seconds() <= d.total_seconds() <= ceiling for d in delays)
    if ceiling > BASE.total_seconds():
        assert len(set(delays)) > 1


def test_backoff_is_reproducible_per_seed() -> None:
    first = [backoff(4, base=BASE, cap=CAP, rng=random.Random(7)) for _ in range(3)]
    assert first == [backoff(4, base=BASE, cap=CAP, rng=random.Random(7)) for _ in range(3)]


def test_delivered() -> None:
    row = delivery(attempts=2)
    session = apply(row, Delivered("HTTP 200"))
    assert (row.status, row.attempts, row.delivered_at, row.lease_until, row.last_error) == (
        "delivered",
        3,
        NOW,
        None,
        None,
    )
    payload = decode(staged(session).value).payload
    assert payload == NotificationDelivered(
        delivery_id=row.id,
        event_id="ev-1",
        event_type="rhi.opened",
        recipient_id="middlesbrough-rhi",
        audience="social_care",
        channel="webhook",
        attempts=3,
        at=NOW,
    )
    assert [(e.outcome, e.detail) for e in session.rows if isinstance(e, DeliveryLogEntry)] == [
        ("delivered", "HTTP 200")
    ]


@pytest.mark.parametrize(
    ("next_delay", "after", "expected"),
    [
        (timedelta(seconds=10), None, timedelta(seconds=10)),
        (timedelta(seconds=10), timedelta(seconds=60), timedelta(seconds=60)),
        (timedelta(seconds=60), timedelta(seconds=10), timedelta(seconds=60)),
        (timedelta(seconds=10), timedelta(0), timedelta(seconds=10)),
    ],
)
def test_retry_below_budget(next_delay: timedelta, after: timedelta | None, expected: timedelta) -> None:
    row = delivery(attempts=MAX_ATTEMPTS - 2)
    session = apply(row, RetryLater("HTTP 503", after), next_delay)
    assert (row.status, row.attempts, row.lease_until, row.last_error) == (
        "pending",
        MAX_ATTEMPTS - 1,
        None,
        "HTTP 503",
    )
    assert row.next_attempt_at == NOW + expected
    [entry] = session.rows
    assert isinstance(entry, DeliveryLogEntry)
    assert (entry.kind, entry.outcome, entry.detail) == ("attempt", "retry", "HTTP 503")


def test_retry_at_budget_is_dead() -> None:
    row = delivery(attempts=MAX_ATTEMPTS - 1)
    session = apply(row, RetryLater("HTTP 500"))
    assert (row.status, row.attempts) == ("dead", MAX_ATTEMPTS)
    payload = decode(staged(session).value).payload
    assert isinstance(payload, NotificationFailed)
    assert "retry budget" in payload.reason
    assert "HTTP 500" in payload.reason
    assert payload.attempts == MAX_ATTEMPTS


def test_failed_is_dead_at_once() -> None:
    row = delivery()
    session = apply(row, Failed("HTTP 410 Gone"))
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "HTTP 410 Gone")
    payload = decode(staged(session).value).payload
    assert isinstance(payload, NotificationFailed)
    assert payload.reason == "HTTP 410 Gone"


def test_huge_retry_after_is_bounded() -> None:
    row = delivery()
    apply(row, RetryLater("HTTP 503", retry_after("300000000000", FrozenClock(NOW))))
    assert row.status == "pending"
    assert row.next_attempt_at > NOW
