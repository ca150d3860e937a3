"""Events round-trip through the codec; malformed records are refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.events.codec import DecodeError, decode, encode, to_event
from shared.events.codes import CancelReason, RiskFactor, UpdateKind
from shared.events.payloads import (
    ChildRecord,
    Classification,
    EpisodeCancelled,
    EpisodeClassified,
    EpisodeReported,
    EpisodeReturned,
    EpisodeUpdated,
    NotificationDelivered,
    NotificationFailed,
    Payload,
    RhiTaskOpened,
    RiskGrade,
)
from shared.events.registry import PAYLOADS, TOPIC_OF, Topic

AT = datetime(2026, 3, 6, 22, 40, tzinfo=UTC)
CHILD = ChildRecord(
    given_name="Mia", family_name="Example", date_of_birth=date(2011, 1, 15), responsible_la="E06000002"
)
OUTCOME = {
    "delivery_id": "msg_1",
    "event_id": "ev-1",
    "event_type": "rhi.opened",
    "recipient_id": "middlesbrough-rhi",
    "channel": "webhook",
    "attempts": 3,
}
SAMPLES: dict[type[Payload], Payload] = {
    EpisodeReported: EpisodeReported(
        episode_id="ep-1",
        force="cleveland",
        police_reference="NB-2026-000123",
        reported_at=AT,
        risk_grade=RiskGrade.MEDIUM,
        child=CHILD,
    ),
    EpisodeReturned: EpisodeReturned(
        episode_id="ep-1", force="cleveland", police_reference="NB-2026-000123", returned_at=AT
    ),
    EpisodeUpdated: EpisodeUpdated(
        episode_id="ep-1",
        force="cleveland",
        police_reference="NB-2026-000123",
        version=2,
        reported_at=AT,
        risk_grade=RiskGrade.HIGH,
        risk_factors=(RiskFactor.EXPLOITATION_CONCERN,),
        child=CHILD,
        kind=UpdateKind.REGRADE,
        reason="seen with older males",
        changed_fields=("risk_grade", "risk_factors"),
        updated_at=AT,
    ),
    EpisodeCancelled: EpisodeCancelled(
        episode_id="ep-1",
        force="cleveland",
        police_reference="NB-2026-000123",
        version=1,
        reason=CancelReason.REPORTED_IN_ERROR,
        cancelled_at=AT,
    ),
    EpisodeClassified: EpisodeClassified(
        episode_id="ep-1",
        classification=Classification.MISSING,
        rule_ids=("R2-grade-at-risk",),
        ruleset_version="2026.1-foundation",
        decided_at=AT,
    ),
    RhiTaskOpened: RhiTaskOpened(
        task_id="rhi-1",
        episode_id="ep-1",
        force="cleveland",
        police_reference="NB-2026-000123",
        responsible_la="E06000002",
        host_la=None,
        child=CHILD,
        returned_at=AT,
        due_at=datetime(2026, 3, 9, 22, 40, tzinfo=UTC),
    ),
    NotificationDelivered: NotificationDelivered(**OUTCOME),
    NotificationFailed: NotificationFailed(**OUTCOME, reason="HTTP 410 Gone"),
}


def record(**changes: object) -> bytes:
    body = json.loads(encode(to_event(SAMPLES[EpisodeReported], source="intake", time=AT)))
    body.update(changes)
    return json.dumps(body).encode()


def test_every_registered_payload_has_a_sample() -> None:
    assert set(SAMPLES) == set(PAYLOADS.values())


@pytest.mark.parametrize("payload", SAMPLES.values(), ids=lambda p: p.EVENT_TYPE)
def test_round_trip(payload: Payload) -> None:
    event = to_event(payload, source="test", time=AT, subject="s-1", correlationid="c-1")
    decoded = decode(encode(event))
    assert decoded.event == event
    assert decoded.event.type == payload.EVENT_TYPE
    assert decoded.event.dataversion == payload.VERSION
    assert type(decoded.payload) is type(payload)
    assert decoded.payload == payload


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"", "empty record value"),
        (None, "empty record value"),
        (b"not json", "invalid CloudEvent envelope"),
        (b"[]", "invalid CloudEvent envelope"),
        (record(source=None), "source"),
        (record(type="episode.vanished"), "unknown event type 'episode.vanished'"),
        (record(dataversion="2"), "version '2'"),
        (record(data={**json.loads(record())["data"], "risk_grade": "purple"}), "invalid episode.reported payload"),
        (record(data={**json.loads(record())["data"], "risk_grade": "purple"}), "risk_grade"),
        (record(time="2026-03-06T22:40:00"), "time"),
        (record(specversion="0.3"), "specversion"),
    ],
)
def test_decode_rejects(value: bytes | None, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem):
        decode(value)


def test_decode_accepts_the_helper_record() -> None:
    assert decode(record()).payload == SAMPLES[EpisodeReported]


@pytest.mark.parametrize("payload", SAMPLES.values(), ids=lambda p: p.EVENT_TYPE)
def test_payloads_are_frozen_and_closed(payload: Payload) -> None:
    name = next(iter(type(payload).model_fields))
    with pytest.raises(ValidationError):
        setattr(payload, name, "changed")
    with pytest.raises(ValidationError, match="extra"):
        type(payload).model_validate({**payload.model_dump(), "nickname": "x"})


def test_every_event_type_has_a_known_topic() -> None:
    assert set(TOPIC_OF.values()) <= set(Topic.ALL)
    assert {event_type for event_type, _ in PAYLOADS} <= set(TOPIC_OF)
