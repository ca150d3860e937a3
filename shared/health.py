"""What operators ask a service: is it alive (/health), can it work (/ready), how is it doing (/metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.config import KafkaConfig
from shared.http import problem
from shared.kafka.client import current_cluster
from shared.metrics import BROKER_UP, OUTBOX_AGE, OUTBOX_BACKLOG
from shared.outbox import OutboxMessage

log = structlog.get_logger(__name__)
PROBE_EVERY_S = 2.0
PROBE_TIMEOUT_S = 3.0
# /ready trusts a successful broker probe for this long; a dead broker fails /ready well within 10 s.
PROBE_FRESH_S = 6.0


class BrokerProbe:
    """Asks the broker for its cluster id every few seconds, so /ready can answer without waiting on it."""

    def __init__(self, config: KafkaConfig, service: str) -> None:
        self._config = config
        self._service = service
        self.last_ok: float | None = None  # time.monotonic() of the last success

    def healthy(self) -> bool:
        """Whether the broker answered recently."""
        return self.last_ok is not None and time.monotonic() - self.last_ok < PROBE_FRESH_S

    async def run(self, stopping: asyncio.Event) -> None:
        """Probe until the process stops."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(current_cluster(self._config), timeout=PROBE_TIMEOUT_S)
                self.last_ok = time.monotonic()
            except Exception as exc:  # any failure is "not reachable"; the next probe tries again
                log.debug("broker.probe_failed", error=type(exc).__name__)
            BROKER_UP.labels(self._service).set(1 if self.healthy() else 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=PROBE_EVERY_S)


async def outbox_backlog(session: AsyncSession, service: str, now: datetime) -> tuple[int, float]:
    """How many of the service's events wait to be published, and the oldest one's age in seconds."""
    query = select(func.count(), func.min(OutboxMessage.created_at)).where(
        OutboxMessage.service == service, OutboxMessage.published_at.is_(None)
    )
    count, oldest = (await session.execute(query)).one()  # min() keeps the column's type: aware UTC
    return int(count), (now - oldest).total_seconds() if oldest is not None else 0.0


def install_health(
    app: FastAPI, *, service: str, readers: async_sessionmaker[AsyncSession], probe: BrokerProbe, clock: Clock
) -> None:
    """/health: the process is alive; /ready: its database and broker answer; /metrics: Prometheus text."""

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        try:
            async with readers() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready
            return problem(503, "Not ready", f"database unreachable: {type(exc).__name__}")
        if not probe.healthy():
            return problem(503, "Not ready", "broker unreachable")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics(_request: Request) -> Response:
        try:
            async with readers() as session:
                count, age = await outbox_backlog(session, service, clock.now())
            OUTBOX_BACKLOG.labels(service).set(count)
            OUTBOX_AGE.labels(service).set(age)
        except Exception as exc:  # the other metrics are still worth serving; backlog keeps its last value
            log.warning("metrics.backlog_unavailable", error=type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
