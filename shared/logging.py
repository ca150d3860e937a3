"""Structured JSON logs on stderr; log ids, never names or dates of birth."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

from shared.events.codec import Decoded


def configure_logging(level: str, *, service: str, stream: TextIO | None = None) -> None:
    """Route stdlib and structlog output through one JSON renderer (to stderr unless told otherwise)."""
    stream = stream or sys.stderr
    stamp: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    render: list[Processor] = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    # Libraries log through the standard library; their lines get the same JSON shape and context.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*stamp, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "mcn", False)] + [handler]
    handler.mcn = True  # type: ignore[attr-defined]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "apscheduler"):  # a line per fetch or per sweep run says nothing an operator needs
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*stamp, *render],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
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
