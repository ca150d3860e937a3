"""The whole system as a user starts it: separate processes, real broker, receiver and gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack, start_on_free_ports


def start_stack(data_dir: Path, database_url: str | None = None, **extra_env: str) -> Stack:
    """Start a stack on free ports, logging at INFO; on failure stop what started and re-raise."""
    env = {"MCN_LOG_LEVEL": "INFO", "MCN_KAFKA_REQUEST_TIMEOUT_MS": "3000", **extra_env}
    return start_on_free_ports(data_dir, database_url, env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running system (SQLite, the embedded default) per test module."""
    s = start_stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.stop_all()
