"""Structured JSON logs on stderr; log ids, never names or dates of birth."""

from __future__ import annotations

import contextlib
import logging
import sys

import structlog

from shared.events.codec import Decoded


def configure_logging(level: str, *, service: str) -> None:
    """Route stdlib and structlog output through one JSON renderer."""
    common: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Libraries (uvicorn, httpx, aiokafka) log through the stdlib: render their records as JSON too.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*common, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*common, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
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
