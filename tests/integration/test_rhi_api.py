"""The social-care API in process, on SQLite and PostgreSQL: worklist, actions, versions, tenancy, roles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.app import build
from services.rhi_tracker.config import RhiSettings
from shared.auth import Role, create_key
from tests.integration.test_rhi_handlers import H72, LA, OTHER_LA, T0, Tracker, child, reported, returned, when
from tests.support import in_process

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml"
H = timedelta(hours=1)
FINDINGS: dict[str, Any] = {
    "pull_factors": ["older_adults"],
    "places": [{"type": "flat_or_house", "description": "a flat in town"}],
    "exploitation_indicators": ["cse", "drugs"],
    "child_words": "I was with my mates.",
    "interviewer_independent": True,
}


@dataclass
class Api:
    """An in-process tracker app, its tracker handles and a key per principal."""

    client: httpx.AsyncClient
    tracker: Tracker
    keys: dict[str, tuple[str, str]]  # name -> (key id, secret)

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        """Authorization as one of the principals."""
        return {"Authorization": f"Bearer {self.keys[who][1]}", **extra}

    async def get(self, path: str, who: str = "mine", **params: Any) -> httpx.Response:
        """GET as a principal."""
        return await self.client.get(path, headers=self.headers(who), params=params)

    async def post(self, path: str, body: dict[str, Any], who: str = "mine", **headers: str) -> httpx.Response:
        """POST as a principal."""
        return await self.client.post(path, json=body, headers=self.headers(who, **headers))

    async def open(self, episode_id: str, la: str = LA, returned_at: Any = T0) -> str:
        """Report and return an episode; return its task id."""
        who = child(person=f"P-{episode_id}", la=la)
        await self.tracker.deliver(
            reported(episode_id, returned_at - 5 * H, who=who), returned(episode_id, returned_at)
        )
        task = await self.tracker.task(episode_id)
        assert task is not None
        return task.id


PRINCIPALS = {
    "mine": (Role.SOCIAL_CARE, LA),
    "other": (Role.SOCIAL_CARE, OTHER_LA),
    "ops": (Role.OPS, "tees"),
    "other_ops": (Role.OPS, "durham-darlington"),
    "police": (Role.POLICE, "cleveland"),
}


async def make_keys(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str, str]]:
    """One API key per principal in PRINCIPALS."""
    keys = {}
    async with sessions() as session, session.begin():
        for name, (role, tenant) in PRINCIPALS.items():
            row, secret = await create_key(session, role=role, tenant=tenant, label=name, now=T0)
            keys[name] = (row.id, secret)
    return keys


@asynccontextmanager
async def running_api(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    """The app on the test database with a frozen clock shared with the tracker's handlers."""
    tracker = Tracker(sessions)
    settings = RhiSettings(database_url=db_url, policy_file=EXAMPLE_POLICY)
    async with in_process(build(settings, tracker.clock)) as client:
        yield Api(client=client, tracker=tracker, keys=await make_keys(sessions))


@pytest.fixture
async def api(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    """The API under test."""
    async with running_api(db_url, sessions) as running:
        yield running


async def test_the_worklist_is_the_authoritys_open_tasks_soonest_due_first(api: Api) -> None:
    late = await api.open("e1", returned_at=T0 + 5 * H)
    soon = await api.open("e2", returned_at=T0)
    await api.open("e3", la=OTHER_LA)
    page = (await api.get("/v1/rhi/tasks")).json()
    assert [t["id"] for t in page["items"]] == [soon, late]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert when(first["due_at"]) == T0 + H72
    assert first["due_local"].endswith("+00:00"), "Europe/London in March is GMT"
    assert first["child"] == {
        "given_name": "Ava",
        "family_name": "Example",
        "date_of_birth": "2012-04-01",
        "looked_after": False,
    }


async def test_the_worklist_pages_and_filters_by_status_and_due_window(api: Api) -> None:
    ids = [await api.open(f"e{i}", returned_at=T0 + i * H) for i in range(5)]
    first = (await api.get("/v1/rhi/tasks", limit=2)).json()
    second = (await api.get("/v1/rhi/tasks", limit=2, cursor=first["next_cursor"])).json()
    third = (await api.get("/v1/rhi/tasks", limit=2, cursor=second["next_cursor"])).json()
    assert [t["id"] for t in first["items"] + second["items"] + third["items"]] == ids
    assert third["next_cursor"] is None
    window = {"due_after": (T0 + H72 + H).isoformat(), "due_before": (T0 + H72 + 3 * H).isoformat()}
    assert [t["id"] for t in (await api.get("/v1/rhi/tasks", **window)).json()["items"]] == ids[1:3]
    await api.post(f"/v1/rhi/tasks/{ids[0]}/offer", {"expected_version": 1})
    offered = (await api.get("/v1/rhi/tasks", status="offered")).json()["items"]
    assert [t["id"] for t in offered] == [ids[0]]
    assert (await api.get("/v1/rhi/tasks", status="completed")).json()["items"] == []
    bad = await api.get("/v1/rhi/tasks", cursor="not-a-cursor")
    assert bad.status_code == 422


async def test_offer_then_complete_with_findings_emits_events_with_the_actor(api: Api) -> None:
    task_id = await api.open("e1")
    read = await api.get(f"/v1/rhi/tasks/{task_id}")
    assert read.headers["etag"] == '"1"'
    offered = await api.post(f"/v1/rhi/tasks/{task_id}/offer", {"method": "phone"}, **{"If-Match": '"1"'})
    assert offered.status_code == 200, offered.text
    assert (offered.headers["etag"], offered.json()["status"]) == ('"2"', "offered")
    api.tracker.clock.set(T0 + 30 * H)
    done = await api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS}, **{"If-Match": 'W/"2"'})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["version"], body["on_time"]) == ("completed", 3, True)
    assert body["findings"]["exploitation_indicators"] == ["cse", "drugs"]
    assert [h["event_type"] for h in body["history"]] == ["rhi.opened", "rhi.offered", "rhi.completed"]
    assert [h["actor"] for h in body["history"]] == [None, api.keys["mine"][0], api.keys["mine"][0]]
    [completed] = await api.tracker.events("rhi.completed")
    assert completed["findings"]["places"] == [
        {"type": "flat_or_house", "description": "a flat in town", "postcode": None}
    ]
    assert (completed["on_time"], completed["actor"], when(completed["completed_at"])) == (
        True,
        api.keys["mine"][0],
        T0 + 30 * H,
    )
    assert await api.tracker.sweep(T0 + 500 * H) == 0, "a completed task never breaches"


async def test_a_late_interview_is_completed_but_not_on_time(api: Api) -> None:
    task_id = await api.open("e1")
    await api.tracker.sweep(T0 + H72)
    api.tracker.clock.set(T0 + H72 + 5 * H)
    done = await api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS, "expected_version": 1})
    assert done.status_code == 200, done.text
    assert (done.json()["on_time"], done.json()["breached_at"] is not None) == (False, True)
    [completed] = await api.tracker.events("rhi.completed")
    assert completed["on_time"] is False


async def test_the_interview_time_may_be_given_but_not_before_the_return_nor_in_the_future(api: Api) -> None:
    task_id = await api.open("e1")
    api.tracker.clock.set(T0 + 80 * H)
    cases = [
        ({"completed_at": (T0 - H).isoformat()}, "/completed_at", "before the return"),
        ({"completed_at": (T0 + 81 * H).isoformat()}, "/completed_at", "in the future"),
    ]
    for extra, pointer, message in cases:
        r = await api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS, "expected_version": 1, **extra})
        assert r.status_code == 422
        assert r.json()["errors"] == [{"pointer": pointer, "message": message}]
    took_place = (T0 + 70 * H).isoformat()
    ok = await api.post(
        f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS, "expected_version": 1, "completed_at": took_place}
    )
    assert ok.json()["on_time"] is True, "it took place within 72 hours, though recorded later"


async def test_findings_need_the_childs_preference_when_the_interviewer_was_not_independent(api: Api) -> None:
    task_id = await api.open("e1")
    findings = {**FINDINGS, "interviewer_independent": False}
    r = await api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": findings, "expected_version": 1})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "/findings"
    assert "child_preference" in r.json()["errors"][0]["message"]
    unknown = await api.post(
        f"/v1/rhi/tasks/{task_id}/complete",
        {"findings": {**FINDINGS, "pull_factors": ["sweets"]}, "expected_version": 1},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/findings/pull_factors/0"


async def test_a_stale_version_is_refused_never_overwritten(api: Api) -> None:
    task_id = await api.open("e1")
    assert (await api.post(f"/v1/rhi/tasks/{task_id}/offer", {"expected_version": 1})).status_code == 200
    stale_header = await api.post(
        f"/v1/rhi/tasks/{task_id}/decline", {"reason": "no", "attempts": 1}, **{"If-Match": '"1"'}
    )
    assert stale_header.status_code == 412
    assert "version 2, not 1" in stale_header.json()["detail"]
    stale_body = await api.post(
        f"/v1/rhi/tasks/{task_id}/decline", {"reason": "no", "attempts": 1, "expected_version": 1}
    )
    assert stale_body.status_code == 409
    missing = await api.post(f"/v1/rhi/tasks/{task_id}/decline", {"reason": "no", "attempts": 1})
    assert missing.status_code == 428
    assert missing.headers["content-type"].startswith("application/problem+json")
    star = await api.post(f"/v1/rhi/tasks/{task_id}/decline", {"reason": "no", "attempts": 1}, **{"If-Match": "*"})
    assert star.status_code == 412
    assert (await api.get(f"/v1/rhi/tasks/{task_id}")).json()["status"] == "offered"


async def test_two_concurrent_edits_of_the_same_version_one_wins(api: Api) -> None:
    task_id = await api.open("e1")
    complete = api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS}, **{"If-Match": '"1"'})
    decline = api.post(f"/v1/rhi/tasks/{task_id}/decline", {"reason": "no", "attempts": 2}, **{"If-Match": '"1"'})
    results = await asyncio.gather(complete, decline)
    assert sorted(r.status_code for r in results) == [200, 412]
    winner = next(r for r in results if r.status_code == 200).json()["status"]
    assert (await api.get(f"/v1/rhi/tasks/{task_id}")).json()["status"] == winner
    assert len(await api.tracker.events("rhi.completed")) + len(await api.tracker.events("rhi.declined")) == 1


async def test_illegal_transitions_are_409s_naming_the_state(api: Api) -> None:
    task_id = await api.open("e1")
    await api.post(f"/v1/rhi/tasks/{task_id}/offer", {"expected_version": 1})
    again = await api.post(f"/v1/rhi/tasks/{task_id}/offer", {"expected_version": 2})
    assert again.status_code == 409
    assert "the task is offered" in again.json()["detail"]
    not_offered = await api.post(
        f"/v1/rhi/tasks/{task_id}/not-offered", {"reason": "r", "decided_by": "TM", "expected_version": 2}
    )
    assert not_offered.status_code == 409
    await api.post(f"/v1/rhi/tasks/{task_id}/not-possible", {"reason": "in hospital", "expected_version": 2})
    after = await api.post(f"/v1/rhi/tasks/{task_id}/complete", {"findings": FINDINGS, "expected_version": 3})
    assert after.status_code == 409
    assert "the task is not_possible" in after.json()["detail"]


async def test_decline_not_possible_and_not_offered_record_their_details(api: Api) -> None:
    declined, impossible, not_offered = [await api.open(f"e{i}") for i in range(3)]
    r = await api.post(
        f"/v1/rhi/tasks/{declined}/decline", {"reason": "does not want to talk", "attempts": 3, "expected_version": 1}
    )
    assert r.json()["outcome"] == {
        "reason": "does not want to talk",
        "attempts": 3,
        "decided_by": None,
        "reason_code": None,
    }
    r = await api.post(f"/v1/rhi/tasks/{impossible}/not-possible", {"reason": "missing again", "expected_version": 1})
    assert (r.json()["status"], r.json()["outcome"]["reason"]) == ("not_possible", "missing again")
    body = {
        "reason": "seen yesterday",
        "reason_code": "recent_interview_covers",
        "decided_by": "Team manager",
        "expected_version": 1,
    }
    r = await api.post(f"/v1/rhi/tasks/{not_offered}/not-offered", body)
    assert r.json()["outcome"]["reason_code"] == "recent_interview_covers"
    assert [e["type"] for e in await api.tracker.events()][-3:] == [
        "rhi.declined",
        "rhi.not_possible",
        "rhi.not_offered",
    ]
    [event] = await api.tracker.events("rhi.not_offered")
    assert (event["decided_by"], event["reason_code"], event["reason"]) == (
        "Team manager",
        "recent_interview_covers",
        "seen yesterday",
    )
    [event] = await api.tracker.events("rhi.declined")
    assert (event["attempts"], event["actor"]) == (3, api.keys["mine"][0])
    assert await api.tracker.sweep(T0 + 500 * H) == 0


async def test_another_authority_cannot_list_read_or_act_on_a_task(api: Api) -> None:
    task_id = await api.open("e1")
    assert (await api.get("/v1/rhi/tasks", who="other")).json()["items"] == []
    read = await api.get(f"/v1/rhi/tasks/{task_id}", who="other")
    assert read.status_code == 404
    assert "Ava" not in read.text
    for action, body in [
        ("offer", {}),
        ("complete", {"findings": FINDINGS}),
        ("decline", {"reason": "x", "attempts": 1}),
        ("not-possible", {"reason": "x"}),
        ("not-offered", {"reason": "x", "decided_by": "y"}),
    ]:
        r = await api.post(f"/v1/rhi/tasks/{task_id}/{action}", {**body, "expected_version": 1}, who="other")
        assert r.status_code == 404, action
    detail = (await api.get(f"/v1/rhi/tasks/{task_id}")).json()
    assert (detail["status"], detail["version"]) == ("open", 1)
    assert await api.tracker.types() == ["rhi.opened"]


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("police", "/v1/rhi/tasks", 403),
        ("ops", "/v1/rhi/tasks", 403),
        ("mine", "/v1/rhi/sla", 403),
        ("police", "/v1/rhi/reports?from=2026-03-01&to=2026-03-31", 403),
    ],
)
async def test_roles(api: Api, who: str, path: str, status: int) -> None:
    r = await api.client.get(path, headers=api.headers(who))
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_no_credential_is_401(api: Api) -> None:
    assert (await api.client.get("/v1/rhi/tasks")).status_code == 401


async def test_openapi_documents_every_route_with_responses_and_examples(api: Api) -> None:
    doc = (await api.client.get("/openapi.json")).json()
    paths = doc["paths"]
    for action in ("offer", "complete", "decline", "not-possible", "not-offered"):
        operation = paths[f"/v1/rhi/tasks/{{task_id}}/{action}"]["post"]
        assert {"200", "404", "409", "412", "422", "428"} <= set(operation["responses"]), action
    assert {"/v1/rhi/tasks", "/v1/rhi/tasks/{task_id}", "/v1/rhi/reports", "/v1/rhi/sla"} <= set(paths)
    schemas = doc["components"]["schemas"]
    assert schemas["CompleteIn"]["examples"][0]["findings"]["exploitation_indicators"] == ["cse", "drugs"]
    assert "text/csv" in paths["/v1/rhi/reports"]["get"]["responses"]["200"]["content"]
