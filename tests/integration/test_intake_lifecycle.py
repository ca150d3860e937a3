"""Intake's lifecycle on SQLite and PostgreSQL: versions, batch, Idempotency-Key, limits, tenancy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake.app import build
from services.intake.config import IntakeSettings
from services.intake.models import Episode
from shared.auth import Role
from shared.clock import FrozenClock
from shared.events.codec import decode
from shared.outbox import OutboxMessage
from tests.integration.test_intake_api import auth, count, new_key, report, sessions_of
from tests.support import in_process

NOW = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(
        build(IntakeSettings(database_url=db_url, max_body_bytes=4096), clock=FrozenClock(NOW)), "http://intake"
    ) as c:
        yield c


async def police(client: httpx.AsyncClient, force: str = "cleveland") -> dict[str, str]:
    return auth(await new_key(sessions_of(client), Role.POLICE, force))


async def reported(client: httpx.AsyncClient, headers: dict[str, str], **changes: Any) -> str:
    r = await client.post("/v1/episodes", json=report(**changes), headers=headers)
    assert r.status_code == 202, r.text
    episode_id: str = r.json()["id"]
    return episode_id


async def events(client: httpx.AsyncClient) -> list[tuple[str, dict[str, Any]]]:
    async with sessions_of(client)() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(r.event_type, decode(r.value).event.data) for r in rows]


async def test_two_updates_and_a_return_give_three_versions_and_events_carry_them(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    episode_id = await reported(client, headers)
    regrade = {"kind": "regrade", "reason": "seen with older males", "risk_grade": "high", "expected_version": 1}
    info = {"kind": "new_information", "reason": "phone found", "child": {"warning_markers": ["cse"]}}
    for body in (regrade, info):
        r = await client.post(f"/v1/episodes/{episode_id}/updates", json=body, headers=headers)
        assert r.status_code == 202, r.text
    returned = {"returned_at": "2026-03-07T09:00:00Z", "returned_by": "found_by_police", "harm_disclosed": False}
    assert (await client.post(f"/v1/episodes/{episode_id}/return", json=returned, headers=headers)).status_code == 202

    episode = (await client.get(f"/v1/episodes/{episode_id}", headers=headers)).json()
    assert [v["version"] for v in episode["versions"]] == [1, 2, 3]
    assert [v["kind"] for v in episode["versions"]] == ["report", "regrade", "new_information"]
    assert episode["versions"][1]["changed_fields"] == ["risk_grade"]
    assert episode["versions"][2]["changed_fields"] == ["child.warning_markers"]
    assert all(v["recorded_by"] and v["recorded_at"] for v in episode["versions"])
    assert episode["versions"][1]["reason"] == "seen with older males"
    assert episode["record"]["risk_grade"] == "high"
    assert episode["status"] == "returned"
    assert episode["return_details"]["returned_by"] == "found_by_police"
    emitted = [(kind, data["version"]) for kind, data in await events(client)]
    assert emitted == [
        ("episode.reported", 1),
        ("episode.updated", 2),
        ("episode.updated", 3),
        ("episode.returned", 3),
    ]


async def test_a_stale_expected_version_and_changes_after_cancel_are_409(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    episode_id = await reported(client, headers)
    stale = {"kind": "correction", "reason": "typo", "expected_version": 5, "circumstances": "x"}
    assert (await client.post(f"/v1/episodes/{episode_id}/updates", json=stale, headers=headers)).status_code == 409
    cancel = {"reason": "reported_in_error", "detail": "on a school trip"}
    assert (await client.post(f"/v1/episodes/{episode_id}/cancel", json=cancel, headers=headers)).status_code == 202
    assert (await client.post(f"/v1/episodes/{episode_id}/cancel", json=cancel, headers=headers)).status_code == 202
    late = {"kind": "correction", "reason": "typo", "circumstances": "x"}
    assert (await client.post(f"/v1/episodes/{episode_id}/updates", json=late, headers=headers)).status_code == 409
    assert [kind for kind, _ in await events(client)] == ["episode.reported", "episode.cancelled"]


async def test_a_batch_stores_every_valid_item_and_names_the_invalid_one(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    existing = await reported(client, headers, police_reference="B-0")
    bad = report(police_reference="B-2", risk_grade="purple")
    operations = [
        {"op": "report", "body": report(police_reference="B-1")},
        {"op": "report", "body": bad},
        {"op": "return", "episode_id": existing, "body": {"returned_at": "2026-03-07T02:00:00Z"}},
        {"op": "return", "body": {"returned_at": "2026-03-07T02:00:00Z"}},
        {"op": "update", "episode_id": "no-such-episode", "body": {"kind": "correction", "reason": "r"}},
        {"op": "report", "body": report(police_reference="B-3")},
    ]
    r = await client.post("/v1/episodes/batch", json={"operations": operations}, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [202, 422, 202, 422, 404, 202]
    assert results[1]["body"]["errors"] == [
        {"pointer": "/operations/1/body/risk_grade", "message": results[1]["body"]["errors"][0]["message"]}
    ]
    assert results[3]["body"]["errors"][0]["pointer"] == "/operations/3/episode_id"
    async with sessions_of(client)() as s:
        refs = sorted((await s.scalars(select(Episode.police_reference))).all())
    assert refs == ["B-0", "B-1", "B-3"]


async def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    keyed = {**headers, "Idempotency-Key": "niche-5501"}
    first = await client.post("/v1/episodes", json=report(police_reference="K-1"), headers=keyed)
    again = await client.post("/v1/episodes", json=report(police_reference="K-1"), headers=keyed)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    other = await client.post("/v1/episodes", json=report(police_reference="K-2"), headers=keyed)
    assert other.status_code == 409
    assert "updates" in other.json()["detail"]
    assert await count(client, Episode) == 1
    assert await count(client, OutboxMessage) == 1


async def test_another_force_cannot_tell_whether_an_episode_exists(client: httpx.AsyncClient) -> None:
    mine, theirs = await police(client, "cleveland"), await police(client, "durham")
    episode_id = await reported(client, mine)
    for target in (episode_id, "00000000-0000-4000-8000-000000000000"):
        read = await client.get(f"/v1/episodes/{target}", headers=theirs)
        update = await client.post(
            f"/v1/episodes/{target}/updates", json={"kind": "correction", "reason": "x"}, headers=theirs
        )
        assert (read.status_code, update.status_code) == (404, 404)
        assert read.json()["detail"] == f"no episode {target} for force durham"
    listed = (await client.get("/v1/episodes", headers=theirs)).json()
    assert listed["items"] == []


async def test_listing_open_episodes_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    ids = [
        await reported(client, headers, police_reference=f"L-{n}", reported_at=f"2026-03-0{n + 1}T10:00:00Z")
        for n in range(5)
    ]
    await client.post(f"/v1/episodes/{ids[0]}/return", json={"returned_at": "2026-03-07T10:00:00Z"}, headers=headers)
    page = (await client.get("/v1/episodes?status=open&limit=2", headers=headers)).json()
    assert [e["police_reference"] for e in page["items"]] == ["L-4", "L-3"]
    rest = (await client.get(f"/v1/episodes?status=open&limit=5&cursor={page['next_cursor']}", headers=headers)).json()
    assert [e["police_reference"] for e in rest["items"]] == ["L-2", "L-1"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("changes", "pointer", "message"),
    [
        ({"child": {**report()["child"], "date_of_birth": "2008-03-06"}}, "/child/date_of_birth", "18 or over"),
        ({"child": {**report()["child"], "date_of_birth": "2026-03-08"}}, "/child/date_of_birth", "after"),
        ({"last_seen_at": "2026-03-07T00:00:00Z"}, "/last_seen_at", "after reported_at"),
        ({"child": {**report()["child"], "responsible_la": "E0600002"}}, "/child/responsible_la", "pattern"),
        ({"child": {**report()["child"], "school_urn": "12AB56"}}, "/child/school_urn", "pattern"),
        ({"risk_factors": ["unlucky"]}, "/risk_factors/0", "Input should be"),
    ],
)
async def test_invalid_reports_name_the_field(
    client: httpx.AsyncClient, changes: dict[str, Any], pointer: str, message: str
) -> None:
    headers = await police(client)
    r = await client.post("/v1/episodes", json=report(**changes), headers=headers)
    assert r.status_code == 422, r.text
    errors = {e["pointer"]: e["message"] for e in r.json()["errors"]}
    assert pointer in errors
    assert message in errors[pointer]
    assert await count(client, Episode) == 0


async def test_a_child_turning_18_the_day_after_the_report_is_accepted(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    child = {**report()["child"], "date_of_birth": "2008-03-07"}
    assert (await client.post("/v1/episodes", json=report(child=child), headers=headers)).status_code == 202


async def test_size_type_and_json_errors_are_problems(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    big = report(circumstances="x" * 3000, last_seen_location="y" * 290)
    big["child"]["aliases"] = ["z" * 99] * 10
    r = await client.post("/v1/episodes", json=big, headers=headers)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.post(
        "/v1/episodes", content=b"police_reference=1", headers={**headers, "content-type": "text/plain"}
    )
    assert r.status_code == 415
    r = await client.post(
        "/v1/episodes", content=b'{"police_reference": ', headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert await count(client, Episode) == 0
