"""Notifier settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr

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
    # A dispatcher that dies mid-send leaves its rows leased this long; then another sends them again.
    delivery_lease: timedelta = timedelta(seconds=60)
    delivery_batch: Annotated[int, Field(ge=1, le=1000)] = 50
    # How often held notices (school mornings, digests) are looked at; they go out at the first look after due.
    release_sweep_interval: timedelta = timedelta(seconds=30)
    # The SMTP relay e-mail channels send through (TLS: "tls" from the first byte, "starttls" upgrades).
    smtp_host: str = "127.0.0.1"
    smtp_port: Port = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "notifications@notifier.localhost"
    smtp_timeout: timedelta = timedelta(seconds=10)
    smtp_ca_file: FilePath | None = None  # CA bundle to verify the relay's certificate (default: the system's)
