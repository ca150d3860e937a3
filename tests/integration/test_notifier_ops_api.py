"""The ops delivery log: filters, paging, tenancy by partnership, roles, no notice bodies; the OpenAPI is complete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.app import build
from services.notifier.models import Delivery
from shared.auth import Role, create_key
from tests.integration.test_notifier_delivery import (
    MONDAY,
    Sinks,
    settings_for,
    sinks_fixture,  # noqa: F401 (the `sinks` fixture)
)
from tests.support import in_process

FIELDS = ("id", "status", "recipient_id", "event_type", "local_authority", "at")  # at: minutes after MONDAY
ROWS: list[dict[str, Any]] = [
    dict(zip(FIELDS, row, strict=True))
    for row in (
        ("a", "dead", "redcar-rhi", "rhi.opened", "E06000003", 0),
        ("b", "delivered", "redcar-rhi", "rhi.opened", "E06000003", 1),
        ("c", "pending", "tees-mset", "episode.classified", "E06000004", 2),
        ("d", "dead", "tees-ops", "delivery.dead", "E06000002", 3),
        ("e", "dead", "darlington-x", "rhi.opened", "E06000005", 4),
    )
]


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for r in ROWS:
            at = MONDAY + timedelta(minutes=r["at"])
            session.add(
                Delivery(
                    id=f"msg_{r['id']}",
                    event_id=f"ev-{r['id']}",
                    event_type=r["event_type"],
                    recipient_id=r["recipient_id"],
                    channel="webhook",
                    audience="social_care",
                    status=r["status"],
                    attempts=1,
                    body='{"data": {"child": {"given_name": "Mia"}}}',
                    created_at=at,
                    next_attempt_at=at,
                    local_authority=r["local_authority"],
                    episode_id=f"ep-{r['id']}",
                    statutory=False,
                    replays=0,
                )
            )


async def key(app: FastAPI, role: Role, tenant: str) -> dict[str, str]:
    async with app.state.runtime.sessions() as session, session.begin():
        _, secret = await create_key(session, role=role, tenant=tenant, label="test", now=MONDAY)
    return {"Authorization": f"Bearer {secret}"}


async def ids(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/deliveries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_filters_paging_and_tenancy(db_url: str, sinks: Sinks) -> None:
    app = build(settings_for(db_url, sinks), sinks.clock)
    async with in_process(app) as client:
        await seed(app.state.runtime.sessions)
        tees = await key(app, Role.OPS, "tees")
        durham = await key(app, Role.OPS, "durham-darlington")
        assert await ids(client, tees) == ["msg_d", "msg_c", "msg_b", "msg_a"], "newest first, Tees LAs only"
        assert await ids(client, durham) == ["msg_e"]
        assert await ids(client, tees, status="dead") == ["msg_d", "msg_a"]
        assert await ids(client, tees, recipient_id="redcar-rhi") == ["msg_b", "msg_a"]
        assert await ids(client, tees, event_type="episode.classified") == ["msg_c"]
        since, until = (MONDAY + timedelta(minutes=1)).isoformat(), (MONDAY + timedelta(minutes=3)).isoformat()
        assert await ids(client, tees, since=since, until=until) == ["msg_c", "msg_b"]

        first = (await client.get("/v1/deliveries", params={"limit": "3"}, headers=tees)).json()
        assert [i["id"] for i in first["items"]] == ["msg_d", "msg_c", "msg_b"]
        rest = await ids(client, tees, limit="3", cursor=first["next_cursor"])
        assert rest == ["msg_a"]
        assert "body" not in first["items"][0]
        assert "Mia" not in str(first)

        detail = await client.get("/v1/deliveries/msg_a", headers=tees)
        assert detail.status_code == 200
        assert detail.json()["history"] == []
        assert (await client.get("/v1/deliveries/msg_e", headers=tees)).status_code == 404
        replay_other = await client.post("/v1/deliveries/msg_e/replay", json={"reason": "x"}, headers=tees)
        assert replay_other.status_code == 404
        assert (await client.post("/v1/deliveries/msg_b/replay", json={"reason": "x"}, headers=tees)).status_code == 409


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"params": {"status": "lost"}}, 422),
        ({"params": {"since": "2026-03-09T10:00:00"}}, 422),  # no time zone
        ({"params": {"limit": "0"}}, 422),
        ({"params": {"cursor": "not-ours"}}, 422),
    ],
)
async def test_bad_filters_are_problems(db_url: str, sinks: Sinks, request_args: dict[str, Any], status: int) -> None:
    app = build(settings_for(db_url, sinks), sinks.clock)
    async with in_process(app) as client:
        tees = await key(app, Role.OPS, "tees")
        response = await client.get("/v1/deliveries", headers=tees, **request_args)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_only_ops_may_read_or_replay(db_url: str, sinks: Sinks) -> None:
    app = build(settings_for(db_url, sinks), sinks.clock)
    async with in_process(app) as client:
        await seed(app.state.runtime.sessions)
        for role, tenant in ((Role.POLICE, "cleveland"), (Role.SOCIAL_CARE, "E06000003"), (Role.MSET, "tees")):
            headers = await key(app, role, tenant)
            assert (await client.get("/v1/deliveries", headers=headers)).status_code == 403
            replay = await client.post("/v1/deliveries/msg_a/replay", json={"reason": "x"}, headers=headers)
            assert replay.status_code == 403
        assert (await client.get("/v1/deliveries")).status_code == 401
        tees = await key(app, Role.OPS, "tees")
        empty = await client.post("/v1/deliveries/msg_a/replay", json={"reason": "  "}, headers=tees)
        assert empty.status_code == 422
        assert empty.json()["errors"][0]["pointer"] == "/reason"


async def test_openapi_documents_the_log(db_url: str, sinks: Sinks) -> None:
    app = build(settings_for(db_url, sinks), sinks.clock)
    async with in_process(app) as client:
        doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths) == {"/v1/deliveries", "/v1/deliveries/{delivery_id}", "/v1/deliveries/{delivery_id}/replay"}
    listing = paths["/v1/deliveries"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status", "recipient_id", "event_type", "since", "until", "limit", "cursor"}  # fmt: skip
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("DeliveryPage")
    assert {"401", "403", "422"} <= set(listing["responses"])
    replay = paths["/v1/deliveries/{delivery_id}/replay"]["post"]
    assert {"202", "404", "409"} <= set(replay["responses"])
    assert doc["components"]["schemas"]["DeliveryView"]["examples"]
