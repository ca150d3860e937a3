"""Structured JSON logs on stderr; log ids, never names or dates of birth."""

from __future__ import annotations

import contextlib
import logging
import sys

import structlog

from shared.events.codec import Decoded


def configure_logging(level: str, *, service: str) -> None:
    """Route stdlib and structlog output through one JSON renderer."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def event_ids(decoded: Decoded) -> dict[str, str | None]:
    """What a log line may say about an event: ids and type, never its data."""
    event = decoded.event
    return {"event_id": event.id, "event_type": event.type, "correlation_id": event.correlationid}


def bound_to(decoded: Decoded) -> contextlib.AbstractContextManager[object]:
    """Log lines written while an event is handled carry its ids (and so the episode's correlation id)."""
    return structlog.contextvars.bound_contextvars(**event_ids(decoded))
