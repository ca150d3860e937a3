"""Prometheus metrics every service exposes at /metrics; labels carry ids and names of things, never people.

One process runs one service, so the metrics live in prometheus_client's default registry and each
carries a `service` label. Values that need the database (outbox backlog) are read at scrape time.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "mcn_http_requests_total", "HTTP requests answered, by route template and status.", ["service", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "mcn_http_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CONSUMED = Counter(
    "mcn_consumer_events_total",
    "Consumed records by outcome: processed, duplicate (inbox skipped), dead_lettered, ignored.",
    ["service", "topic", "outcome"],
)
CONSUMER_LAG = Gauge(
    "mcn_consumer_lag",
    "Records on the partition not yet processed (high watermark - next offset).",
    ["service", "topic", "partition"],
)
PUBLISHED = Counter("mcn_outbox_published_total", "Outbox events published to the broker.", ["service"])
OUTBOX_BACKLOG = Gauge("mcn_outbox_backlog", "Outbox events not yet published (read at scrape).", ["service"])
OUTBOX_AGE = Gauge(
    "mcn_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event (0 if none).", ["service"]
)
SWEEPS = Counter("mcn_sweep_runs_total", "Sweep passes run.", ["service", "sweep"])
SWEPT = Counter("mcn_sweep_rows_total", "Rows handled by sweeps.", ["service", "sweep"])
SWEEP_SECONDS = Histogram(
    "mcn_sweep_duration_seconds",
    "Time a sweep run took.",
    ["service", "sweep"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)
SWEEP_LAG = Histogram(
    "mcn_sweep_lag_seconds",
    "How late a deadline was acted on: the time recorded minus the time it was due.",
    ["service", "sweep"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
DELIVERIES = Counter(
    "mcn_deliveries_total", "Delivery attempts by channel and outcome.", ["service", "channel", "outcome"]
)
BROKER_UP = Gauge("mcn_broker_reachable", "1 if the last broker probe succeeded.", ["service"])


class HttpMetrics:
    """ASGI middleware: count and time every HTTP response by its route template (not the raw path)."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, noting its status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "(unrouted)"
            HTTP_REQUESTS.labels(self.service, route, str(status)).inc()
            HTTP_SECONDS.labels(self.service, route).observe(time.perf_counter() - started)
