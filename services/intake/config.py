"""Intake settings."""

from __future__ import annotations

from datetime import timedelta

from shared.config import Port, ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of the intake service (MCN_* environment variables)."""

    http_port: Port = 8001
    clock_skew: timedelta = timedelta(minutes=5)
