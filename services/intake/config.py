"""Intake settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from shared.config import Port, ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of the intake service (MCN_* environment variables)."""

    http_port: Port = 8001
    clock_skew: timedelta = timedelta(minutes=5)
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    max_batch_body_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024 * 1024
