"""RHI tracker settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, FilePath

from shared.config import Port, ServiceSettings


class RhiSettings(ServiceSettings):
    """Settings of the RHI tracker (MCN_* environment variables)."""

    http_port: Port = 8003
    policy_file: FilePath
    rhi_deadline: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(hours=72)
    # How often the deadline sweep looks for due reminders, breaches and escalations (breach lag ~ this).
    rhi_sweep_interval: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(seconds=1)
    rhi_sweep_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    # Times people give (offered_at, completed_at) may lie this far ahead of the clock.
    clock_skew: timedelta = timedelta(minutes=5)
