"""The intake API in-process on SQLite and PostgreSQL: credentials, tenancy, idempotency, validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.app import build
from services.intake.config import IntakeSettings
from services.intake.models import Episode
from shared.auth import Role, create_key, revoke_key
from shared.clock import FrozenClock
from shared.events.codec import decode
from shared.outbox import OutboxMessage
from tests.support import in_process

NOW = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


def report(reference: str = "CLE-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "police_reference": reference,
        "reported_at": "2026-03-06T22:40:00+00:00",
        "risk_grade": "medium",
        "child": {
            "given_name": "Mia",
            "family_name": "Example",
            "date_of_birth": "2011-01-15",
            "responsible_la": "E06000002",
        },
    }
    body.update(changes)
    return body


async def new_key(sessions: async_sessionmaker[AsyncSession], role: Role, tenant: str) -> str:
    async with sessions() as session, session.begin():
        _, secret = await create_key(session, role=role, tenant=tenant, label="test", now=NOW)
    return secret


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(build(IntakeSettings(database_url=db_url), clock=FrozenClock(NOW)), "http://intake") as c:
        yield c


def sessions_of(client: httpx.AsyncClient) -> async_sessionmaker[AsyncSession]:
    return client.app.state.sessions  # type: ignore[attr-defined, no-any-return]


async def count(client: httpx.AsyncClient, model: type[Any]) -> int:
    async with sessions_of(client)() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_report_stores_the_episode_and_stages_one_event(client: httpx.AsyncClient) -> None:
    key = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    r = await client.post("/v1/episodes", json=report(), headers=auth(key))
    assert r.status_code == 202, r.text
    episode_id = r.json()["id"]
    async with sessions_of(client)() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert [row.event_type for row in rows] == ["episode.reported"]
    event = decode(rows[0].value)
    assert event.event.subject == episode_id
    assert rows[0].key == episode_id
    assert "Mia" not in rows[0].key


async def test_no_credential_is_401_and_a_revoked_key_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/episodes", json=report())
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/episodes/x", headers=auth("mcn_not-a-real-key"))).status_code == 401
    async with sessions_of(client)() as session, session.begin():
        row, secret = await create_key(session, role=Role.POLICE, tenant="cleveland", label="t", now=NOW)
        await revoke_key(session, key_id=row.id, now=NOW)
    assert (await client.post("/v1/episodes", json=report(), headers=auth(secret))).status_code == 401
    assert await count(client, Episode) == 0


async def test_another_force_cannot_read_or_change_the_episode(client: httpx.AsyncClient) -> None:
    mine = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    theirs = await new_key(sessions_of(client), Role.POLICE, "durham")
    episode_id = (await client.post("/v1/episodes", json=report(), headers=auth(mine))).json()["id"]
    read = await client.get(f"/v1/episodes/{episode_id}", headers=auth(theirs))
    assert read.status_code == 404
    assert "Mia" not in read.text
    ret = await client.post(
        f"/v1/episodes/{episode_id}/return", json={"returned_at": NOW.isoformat()}, headers=auth(theirs)
    )
    assert ret.status_code == 404
    assert (await client.get(f"/v1/episodes/{episode_id}", headers=auth(mine))).json()["status"] == "open"


async def test_a_role_other_than_police_is_403(client: httpx.AsyncClient) -> None:
    key = await new_key(sessions_of(client), Role.SOCIAL_CARE, "E06000002")
    r = await client.post("/v1/episodes", json=report(), headers=auth(key))
    assert r.status_code == 403
    assert "social_care" in r.json()["detail"]


async def test_the_same_report_twice_is_one_episode_and_a_different_body_is_409(client: httpx.AsyncClient) -> None:
    key = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    first = await client.post("/v1/episodes", json=report(), headers=auth(key))
    again = await client.post("/v1/episodes", json=report(), headers=auth(key))
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    changed = await client.post("/v1/episodes", json=report(risk_grade="high"), headers=auth(key))
    assert changed.status_code == 409
    assert "update" in changed.json()["detail"]
    assert await count(client, Episode) == 1
    assert await count(client, OutboxMessage) == 1


async def test_return_stages_episode_returned_and_is_idempotent(client: httpx.AsyncClient) -> None:
    key = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    episode_id = (await client.post("/v1/episodes", json=report(), headers=auth(key))).json()["id"]
    body = {"returned_at": "2026-03-07T01:10:00Z"}
    first = await client.post(f"/v1/episodes/{episode_id}/return", json=body, headers=auth(key))
    again = await client.post(f"/v1/episodes/{episode_id}/return", json=body, headers=auth(key))
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == "returned"
    other = {"returned_at": "2026-03-07T02:00:00Z"}
    assert (await client.post(f"/v1/episodes/{episode_id}/return", json=other, headers=auth(key))).status_code == 409
    assert await count(client, OutboxMessage) == 2


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (report(child={"given_name": "A", "family_name": "B", "responsible_la": "E06000002"}), "/child/date_of_birth"),
        (report(risk_grade="purple"), "/risk_grade"),
        (report(reported_at="2026-03-06T22:40:00"), "/reported_at"),
        (report(reported_at="2026-03-09T12:00:00Z"), "/reported_at"),
    ],
)
async def test_bad_reports_are_422_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    key = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    r = await client.post("/v1/episodes", json=body, headers=auth(key))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert pointer in [e["pointer"] for e in r.json()["errors"]]
    assert await count(client, Episode) == 0
    assert await count(client, OutboxMessage) == 0


async def test_invalid_json_is_400_and_a_return_before_the_report_is_422(client: httpx.AsyncClient) -> None:
    key = await new_key(sessions_of(client), Role.POLICE, "cleveland")
    headers = {**auth(key), "content-type": "application/json"}
    assert (await client.post("/v1/episodes", content=b"{not json", headers=headers)).status_code == 400
    episode_id = (await client.post("/v1/episodes", json=report(), headers=auth(key))).json()["id"]
    early = {"returned_at": "2026-03-06T20:00:00Z"}
    r = await client.post(f"/v1/episodes/{episode_id}/return", json=early, headers=auth(key))
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/returned_at"
