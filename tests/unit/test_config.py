"""Settings load from MCN_* variables and fail with one line naming each bad setting."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from services.classifier.config import ClassifierSettings
from services.intake.config import IntakeSettings
from services.notifier.config import NotifierSettings
from services.rhi_tracker.config import RhiSettings
from shared.config import KafkaConfig, ServiceSettings, load_settings

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MCN_"):
            monkeypatch.delenv(name)


def failure(cls: type[ServiceSettings]) -> str:
    with pytest.raises(SystemExit) as exc:
        load_settings(cls)
    message = str(exc.value.code)
    assert message.startswith("configuration error: ")
    assert "\n" not in message
    return message


def test_bad_duration_is_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_RHI_DEADLINE", "72 hours")
    assert "MCN_RHI_DEADLINE" in failure(RhiSettings)


@pytest.mark.parametrize("value", ["PT72H", "P3D", "PT259200S"])
def test_deadline_parses(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MCN_POLICY_FILE", str(EXAMPLE_POLICY))  # the tracker reads the policy (issue 5)
    monkeypatch.setenv("MCN_RHI_DEADLINE", value)
    assert load_settings(RhiSettings).rhi_deadline == timedelta(hours=72)


@pytest.mark.parametrize("value", ["PT0S", "0", "-PT1H"])
def test_non_positive_deadline_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MCN_RHI_DEADLINE", value)
    assert "MCN_RHI_DEADLINE" in failure(RhiSettings)


def test_missing_policy_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_POLICY_FILE", "/nonexistent.yaml")
    assert "MCN_POLICY_FILE" in failure(NotifierSettings)


def test_unset_policy_file_is_named() -> None:
    assert "MCN_POLICY_FILE" in failure(NotifierSettings)


def test_existing_policy_file_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_POLICY_FILE", str(EXAMPLE_POLICY))
    assert load_settings(NotifierSettings).policy_file == EXAMPLE_POLICY


def test_missing_setting_does_not_echo_other_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_DATABASE_URL", "postgresql+asyncpg://mcn:hunter2@db/mcn")
    assert "hunter2" not in failure(NotifierSettings)


@pytest.mark.parametrize("port", ["70000", "0", "http"])
def test_bad_port_is_named(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("MCN_HTTP_PORT", port)
    assert "MCN_HTTP_PORT" in failure(ServiceSettings)


@pytest.mark.parametrize("cls", [IntakeSettings, ClassifierSettings, RhiSettings, NotifierSettings])
def test_service_settings_keep_the_port_bound(monkeypatch: pytest.MonkeyPatch, cls: type[ServiceSettings]) -> None:
    monkeypatch.setenv("MCN_POLICY_FILE", str(EXAMPLE_POLICY))
    monkeypatch.setenv("MCN_HTTP_PORT", "70000")
    assert "MCN_HTTP_PORT" in failure(cls)


def test_every_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_HTTP_PORT", "70000")
    monkeypatch.setenv("MCN_KAFKA_PARTITIONS", "0")
    message = failure(ServiceSettings)
    assert "MCN_HTTP_PORT" in message
    assert "MCN_KAFKA_PARTITIONS" in message


def test_kafka_config_carries_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "MCN_KAFKA_BOOTSTRAP_SERVERS": "broker-1:9092,broker-2:9092",
        "MCN_KAFKA_TOPIC_PREFIX": "staging.",
        "MCN_KAFKA_PARTITIONS": "6",
        "MCN_KAFKA_REPLICATION_FACTOR": "3",
        "MCN_KAFKA_ENABLE_IDEMPOTENCE": "true",
        "MCN_KAFKA_SESSION_TIMEOUT_MS": "7000",
        "MCN_KAFKA_HEARTBEAT_INTERVAL_MS": "1500",
        "MCN_KAFKA_FETCH_MAX_WAIT_MS": "50",
        "MCN_KAFKA_REQUEST_TIMEOUT_MS": "20000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert ServiceSettings().kafka() == KafkaConfig(
        bootstrap_servers="broker-1:9092,broker-2:9092",
        topic_prefix="staging.",
        partitions=6,
        replication_factor=3,
        enable_idempotence=True,
        session_timeout_ms=7000,
        heartbeat_interval_ms=1500,
        fetch_max_wait_ms=50,
        request_timeout_ms=20000,
    )


def test_an_outbox_retention_shorter_than_the_republish_window_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCN_OUTBOX_RETENTION", "PT10M")
    message = failure(IntakeSettings)
    assert "MCN_OUTBOX_RETENTION (0:10:00) must be at least MCN_OUTBOX_REPUBLISH_WINDOW (1:00:00)" in message
