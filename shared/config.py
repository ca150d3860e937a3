"""Typed process settings, read from MCN_* environment variables and validated at start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[int, Field(ge=1)]


@dataclass(frozen=True)
class KafkaConfig:
    """How to reach the broker and tune clients for it."""

    bootstrap_servers: str
    topic_prefix: str
    partitions: int
    replication_factor: int
    enable_idempotence: bool
    session_timeout_ms: int
    heartbeat_interval_ms: int
    fetch_max_wait_ms: int
    request_timeout_ms: int


class ServiceSettings(BaseSettings):
    """Settings every service process shares."""

    model_config = SettingsConfigDict(env_prefix="MCN_", extra="ignore", frozen=True)

    database_url: str = "sqlite+aiosqlite:///./.devstack/mcn.db"
    # Tests and replays only: a file holding the instant every process's clock starts from (FileClock).
    clock_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: Port = 8000
    log_level: str = "INFO"
    outbox_poll_interval: timedelta = timedelta(milliseconds=100)
    # When the broker comes back having lost its log, events published this recently are sent again.
    outbox_republish_window: timedelta = timedelta(hours=1)
    # Published rows are deleted this long after publishing; at least the republish window, which reads them.
    outbox_retention: timedelta = timedelta(days=1)
    outbox_prune_interval: timedelta = timedelta(minutes=5)
    auth_cache_ttl: timedelta = timedelta(seconds=5)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""
    kafka_partitions: Positive = 3
    kafka_replication_factor: Positive = 1
    # tansu rejects idempotent and transactional producers, so this is opt-in.
    kafka_enable_idempotence: bool = False
    kafka_session_timeout_ms: Annotated[int, Field(ge=500)] = 6000
    kafka_heartbeat_interval_ms: Annotated[int, Field(ge=100)] = 1000
    # How long the broker may gather a fetch. tansu answers at this deadline with only the partitions it
    # has read by then; at 10 ms a consumer far behind on a large topic (a read of ~0.2-0.7 s) was never
    # served that topic again, while its other topics flowed (found in the national-year run).
    kafka_fetch_max_wait_ms: Positive = 500
    kafka_request_timeout_ms: Annotated[int, Field(ge=1000)] = 10000

    @model_validator(mode="after")
    def _retention_covers_republishing(self) -> ServiceSettings:
        if self.outbox_retention < self.outbox_republish_window:
            raise ValueError(
                f"MCN_OUTBOX_RETENTION ({self.outbox_retention}) must be at least"
                f" MCN_OUTBOX_REPUBLISH_WINDOW ({self.outbox_republish_window}), whose republishing reads those rows"
            )
        return self

    def kafka(self) -> KafkaConfig:
        """Return the Kafka part of the settings."""
        return KafkaConfig(
            bootstrap_servers=self.kafka_bootstrap_servers,
            topic_prefix=self.kafka_topic_prefix,
            partitions=self.kafka_partitions,
            replication_factor=self.kafka_replication_factor,
            enable_idempotence=self.kafka_enable_idempotence,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self.kafka_fetch_max_wait_ms,
            request_timeout_ms=self.kafka_request_timeout_ms,
        )


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings or stop the process with one line naming each bad setting."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        raise SystemExit(f"configuration error: {describe(exc, prefix)}") from None


SENSITIVE = ("url", "secret", "password", "key", "token")


def describe(exc: ValidationError, prefix: str) -> str:
    """Render a ValidationError as 'ENV_NAME: reason (got value)' items on one line, never echoing secrets."""
    parts = []
    for err in exc.errors():
        if not err["loc"]:  # a check across settings names them in its message
            parts.append(err["msg"])
            continue
        name = prefix + "_".join(str(p) for p in err["loc"]).upper()
        parts.append(f"{name}: {err['msg']}{shown_input(err['type'], name, err.get('input'))}")
    return "; ".join(parts)


def shown_input(error_type: str, name: str, value: object) -> str:
    """The rejected value, when it is a short scalar that cannot be a credential."""
    if error_type == "missing" or any(word in name.lower() for word in SENSITIVE):
        return ""
    if not isinstance(value, str | int | float | bool):
        return ""
    return f" (got {str(value)[:60]!r})"
