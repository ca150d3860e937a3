"""Every log line is one JSON object with the service's context, whether structlog or a library wrote it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from shared.logging import configure_logging


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """Configure as a service process does (into a string); put the old handlers and defaults back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", service="intake", stream=stream)
    yield stream
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_library_and_service_lines_are_json_with_the_service(out: io.StringIO) -> None:
    structlog.get_logger("x").info("episode.accepted", episode_id="e-1")
    logging.getLogger("sqlalchemy.pool").warning("pool %s exhausted", "main")
    logging.getLogger("apscheduler.executors.default").info("Running job sweep")  # below its WARNING level
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("some.library").exception("request failed")
    found = lines(out)
    assert [line["event"] for line in found] == ["episode.accepted", "pool main exhausted", "request failed"]
    assert all(line["service"] == "intake" for line in found)
    assert found[1]["logger"] == "sqlalchemy.pool"
    assert found[1]["level"] == "warning"
    assert "RuntimeError: boom" in str(found[2]["exception"])


def test_configuring_twice_does_not_double_lines(out: io.StringIO) -> None:
    configure_logging("INFO", service="intake", stream=out)
    logging.getLogger("httpx").warning("once")
    assert len(lines(out)) == 1
