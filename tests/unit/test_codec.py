"""Events round-trip through the codec; malformed records are refused with a reason."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.events.codec import DecodeError, decode, encode, to_event
from shared.events.payloads.base import Payload
from shared.events.payloads.episode import EpisodeReported
from shared.events.registry import PAYLOADS, TOPIC_OF, Topic
from tests.samples import AT, SAMPLES


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
