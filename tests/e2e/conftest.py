"""The whole system as a user starts it: separate processes, real broker, receiver and gateway."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.broker import free_port
from devstack.stack import ROOT, Stack, StackConfig


def free_base_port() -> int:
    """A base port whose +0..+12 offsets are all free (best effort)."""
    for _ in range(50):
        base = free_port()
        if base < 60000 and all(_free(base + n) for n in (1, 2, 3, 4, 10, 11, 12)):
            return base
    raise RuntimeError("no free block of ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def policy_for(receiver_port: int, path: Path) -> Path:
    """The example policy with webhooks pointed at this stack's receiver (e-mail goes to its SMTP sink)."""
    policy: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "policy.example.yaml").read_text())
    for recipient in policy["notifications"]["recipients"]:
        for channel in [*recipient["channels"], *([recipient["fallback"]] if recipient.get("fallback") else [])]:
            if channel.get("type", "webhook") == "webhook":
                channel["url"] = f"http://127.0.0.1:{receiver_port}/hooks/{recipient['id']}"
    path.write_text(yaml.safe_dump(policy))
    return path


def start_stack(data_dir: Path, database_url: str | None = None, **extra_env: str) -> Stack:
    """Start a stack on free ports; on failure stop what started and re-raise."""
    base = free_base_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = StackConfig(
        data_dir=data_dir,
        policy_file=policy_for(base + 10, data_dir / "policy.yaml"),
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
