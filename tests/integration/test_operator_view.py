"""/health, /ready and /metrics as an operator sees them, on an app built by a composition root."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.app import build
from services.intake.config import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.integration.test_intake_api import NOW, auth, new_key, report, sessions_of
from tests.support import in_process


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(build(IntakeSettings(database_url=db_url), clock=FrozenClock(NOW)), "http://intake") as c:
        yield c


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, or 0 if absent."""
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_ready_needs_the_database_and_a_recent_broker_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    not_ready = await client.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["detail"] == "broker unreachable"
    probe = client.app.state.runtime.probe  # type: ignore[attr-defined]
    probe.last_ok = time.monotonic()
    assert (await client.get("/ready")).status_code == 200
    probe.last_ok = time.monotonic() - 60
    assert (await client.get("/ready")).status_code == 503, "an old answer does not count"


async def test_metrics_count_requests_by_route_and_show_the_outbox_backlog(client: httpx.AsyncClient) -> None:
    headers = auth(await new_key(sessions_of(client), Role.POLICE, "cleveland"))
    before = metric((await client.get("/metrics")).text, "mcn_http_requests_total", route="/v1/episodes", status="202")
    for n in range(3):
        assert (await client.post("/v1/episodes", json=report(f"M-{n}"), headers=headers)).status_code == 202
    assert (await client.get("/v1/episodes/nope", headers=headers)).status_code == 404
    scraped = await client.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert metric(text, "mcn_http_requests_total", route="/v1/episodes", status="202") == before + 3
    assert metric(text, "mcn_http_requests_total", route="/v1/episodes/{episode_id}", status="404") >= 1
    assert metric(text, "mcn_outbox_backlog", service="intake") == 3, "nothing relays in-process: all 3 wait"
    assert metric(text, "mcn_outbox_oldest_age_seconds", service="intake") == 0, "the frozen clock has not moved"
    assert "/v1/episodes/nope" not in text, "routes are labelled by template, never by raw path (ids)"
