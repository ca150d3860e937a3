"""Notifier settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, FilePath

from shared.config import Port, ServiceSettings


class NotifierSettings(ServiceSettings):
    """Settings of the notifier (MCN_* environment variables)."""

    http_port: Port = 8004
    policy_file: FilePath
    delivery_poll_interval: timedelta = timedelta(milliseconds=100)
    delivery_max_attempts: Annotated[int, Field(ge=1)] = 8
    delivery_base_backoff: timedelta = timedelta(seconds=2)
    delivery_max_backoff: timedelta = timedelta(minutes=30)
    delivery_timeout: timedelta = timedelta(seconds=10)
    delivery_lease: timedelta = timedelta(seconds=60)
