"""The whole system as a user starts it: separate processes, real broker, receiver and gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.broker import free_base_port, free_port
from devstack.stack import Stack, StackConfig, local_policy


def start_stack(data_dir: Path, database_url: str | None = None, **extra_env: str) -> Stack:
    """Start a stack on free ports; on failure stop what started and re-raise."""
    base = free_base_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = StackConfig(
        data_dir=data_dir,
        policy_file=local_policy(base + 10, data_dir / "policy.yaml"),
        base_port=base,
        kafka_port=free_port(),
        database_url=database_url,
        extra_env={"MCN_LOG_LEVEL": "INFO", "MCN_KAFKA_REQUEST_TIMEOUT_MS": "3000", **extra_env},
    )
    stack = Stack(config)
    try:
        stack.start_all()
    except BaseException:
        stack.stop_all()
        raise
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running system (SQLite, the embedded default) per test module."""
    s = start_stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.stop_all()
