"""Property-based fuzzing of the served RHI tracker OpenAPI (schemathesis): no 5xx, no answer that contradicts it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from devstack.broker import Broker, free_port, spawn_logged, wait_for_port
from services.rhi_tracker.app import build
from services.rhi_tracker.config import RhiSettings
from tests.support import ROOT, upgrade

pytestmark = [pytest.mark.kafka]
POLICY = ROOT / "deploy" / "policy.example.yaml"


@pytest.fixture(scope="module")
def tracker(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A real tracker process on SQLite; yields (base URL, key per role)."""
    data = tmp_path_factory.mktemp("rhi-fuzz")
    url = f"sqlite+aiosqlite:///{data / 'fuzz.db'}"
    upgrade(url)
    env = {
        **os.environ,
        "MCN_DATABASE_URL": url,
        "MCN_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "MCN_KAFKA_TOPIC_PREFIX": "rhifuzz.",
        "MCN_LOG_LEVEL": "WARNING",
        "MCN_POLICY_FILE": str(POLICY),
    }
    keys = {}
    for role, tenant in (("social_care", "E06000002"), ("ops", "tees")):
        cli = [sys.executable, "-m", "shared.auth_cli", "create", "--role", role, "--tenant", tenant]
        keys[role] = subprocess.run(cli, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()[
            -1
        ]
    port = free_port()
    cmd = [sys.executable, "-m", "services.rhi_tracker"]
    proc = spawn_logged(cmd, Path(data) / "tracker.log", cwd=ROOT, env={**env, "MCN_HTTP_PORT": str(port)})
    try:
        wait_for_port("127.0.0.1", port, 30, proc)
        yield f"http://127.0.0.1:{port}", keys
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def served_openapi() -> dict[str, object]:
    """The document the tracker serves at /openapi.json (built without starting anything)."""
    app = build(RhiSettings(database_url="sqlite+aiosqlite:///:memory:", policy_file=POLICY))
    return app.openapi()


schema = schemathesis.openapi.from_dict(served_openapi())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_tracker_honours_its_openapi(case: schemathesis.Case, tracker: tuple[str, dict[str, str]]) -> None:
    base, keys = tracker
    role = "ops" if case.path == "/v1/rhi/sla" else "social_care"
    # Unknown task ids are rightly 404s and changes need a version the schema cannot know, so
    # "valid data is accepted" cannot hold; every other check does.
    case.call_and_validate(
        base_url=base,
        headers={"Authorization": f"Bearer {keys[role]}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_the_fuzzed_document_is_the_served_one(tracker: tuple[str, dict[str, str]]) -> None:
    base, _ = tracker
    assert httpx.get(f"{base}/openapi.json", timeout=10).json() == served_openapi()
