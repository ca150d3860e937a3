"""Property-based fuzzing of the served classifier OpenAPI (schemathesis): no 5xx, no answer that contradicts it."""

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
from services.classifier.app import build
from services.classifier.config import ClassifierSettings
from tests.support import ROOT, upgrade

pytestmark = [pytest.mark.kafka]
POLICY = ROOT / "deploy" / "policy.example.yaml"


@pytest.fixture(scope="module")
def classifier(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real classifier process on SQLite; yields (base URL, MSET key of Tees)."""
    data = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{data / 'fuzz.db'}"
    upgrade(url)
    env = {
        **os.environ,
        "MCN_DATABASE_URL": url,
        "MCN_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "MCN_KAFKA_TOPIC_PREFIX": "fuzz.",
        "MCN_LOG_LEVEL": "WARNING",
        "MCN_POLICY_FILE": str(POLICY),
    }
    cli = [sys.executable, "-m", "shared.auth_cli", "create", "--role", "mset", "--tenant", "tees"]
    key = subprocess.run(cli, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
    port = free_port()
    cmd = [sys.executable, "-m", "services.classifier"]
    proc = spawn_logged(cmd, Path(data) / "classifier.log", cwd=ROOT, env={**env, "MCN_HTTP_PORT": str(port)})
    try:
        wait_for_port("127.0.0.1", port, 30, proc)
        yield f"http://127.0.0.1:{port}", key
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def served_openapi() -> dict[str, object]:
    """The document the classifier serves at /openapi.json (built without starting anything)."""
    app = build(ClassifierSettings(database_url="sqlite+aiosqlite:///:memory:", policy_file=POLICY))
    return app.openapi()


schema = schemathesis.openapi.from_dict(served_openapi())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_classifier_honours_its_openapi(case: schemathesis.Case, classifier: tuple[str, str]) -> None:
    base, key = classifier
    # Unknown child and episode ids rightly turn schema-valid requests into documented 404s.
    case.call_and_validate(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_the_fuzzed_document_is_the_served_one(classifier: tuple[str, str]) -> None:
    base, _ = classifier
    assert httpx.get(f"{base}/openapi.json", timeout=10).json() == served_openapi()
