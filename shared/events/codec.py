"""Encode events to Kafka record values and decode them back, validating the payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from shared.events.envelope import CONTENT_TYPE, CloudEvent
from shared.events.payloads.base import Payload
from shared.events.registry import payload_model


class DecodeError(Exception):
    """A record that is not a valid event of a known type and version."""


@dataclass(frozen=True)
class Decoded:
    """An envelope with its payload parsed into the registered model."""

    event: CloudEvent
    payload: Payload


HEADERS = [("content-type", CONTENT_TYPE.encode())]


def to_event(
    payload: Payload,
    *,
    source: str,
    time: datetime,
    subject: str | None = None,
    correlationid: str | None = None,
) -> CloudEvent:
    """Wrap a payload in a new envelope."""
    return CloudEvent(
        source=source,
        type=payload.EVENT_TYPE,
        dataversion=payload.VERSION,
        time=time,
        subject=subject,
        correlationid=correlationid,
        data=payload.model_dump(mode="json"),
    )


def encode(event: CloudEvent) -> bytes:
    """Serialise an envelope as structured-mode CloudEvents JSON."""
    return event.model_dump_json(exclude_none=True).encode()


def decode(value: bytes | None) -> Decoded:
    """Parse and validate a record value; raise DecodeError naming the problem."""
    if not value:
        raise DecodeError("empty record value")
    try:
        event = CloudEvent.model_validate_json(value)
    except ValidationError as exc:
        raise DecodeError(f"invalid CloudEvent envelope: {_brief(exc)}") from None
    model = payload_model(event.type, event.dataversion)
    if model is None:
        raise DecodeError(f"unknown event type {event.type!r} version {event.dataversion!r}")
    try:
        payload = model.model_validate(event.data)
    except ValidationError as exc:
        raise DecodeError(f"invalid {event.type} payload: {_brief(exc)}") from None
    return Decoded(event=event, payload=payload)


def _brief(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
