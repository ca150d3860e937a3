"""docker-compose.yml cannot be run here (no Docker engine), so its settings are checked by reading."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.classifier.config import ClassifierSettings
from services.intake.config import IntakeSettings
from services.notifier.config import NotifierSettings
from services.rhi_tracker.config import RhiSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "classifier": ClassifierSettings,
    "rhi_tracker": RhiSettings,
    "notifier": NotifierSettings,
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_service_gets_every_setting_it_needs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    service = COMPOSE["services"][name]
    assert service["command"] == f"python -m services.{name}"
    for key in [k for k in os.environ if k.startswith("MCN_")]:
        monkeypatch.delenv(key)
    for key, value in service["environment"].items():
        # The image holds the repository at /app.
        monkeypatch.setenv(key, str(value).replace("/app/", f"{ROOT}/"))
    settings: Any = SETTINGS[name]()
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.http_port == int(service["environment"]["MCN_HTTP_PORT"])


def test_the_notifier_sends_mail_to_the_mail_catcher() -> None:
    env = COMPOSE["services"]["notifier"]["environment"]
    assert env["MCN_SMTP_HOST"] == "mailcatcher"
    assert "mailcatcher" in COMPOSE["services"]


def test_the_receiver_verifies_with_the_policy_the_notifier_signs_with() -> None:
    receiver = COMPOSE["services"]["receiver"]["environment"]["MCN_POLICY_FILE"]
    assert receiver == COMPOSE["services"]["notifier"]["environment"]["MCN_POLICY_FILE"]
