"""The MSET API on SQLite and PostgreSQL: identity across forces, unlink audit, tenancy, CSV, corrections, timeline."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.classifier.app import build
from services.classifier.config import ClassifierSettings
from shared.auth import Role, create_key
from shared.events.codes import RiskGrade, WarningMarker
from shared.events.payloads.notification import NotificationDelivered
from tests.integration.test_classifier_support import EXAMPLE, MARCH, Harness, reported, returned
from tests.samples import SAMPLES
from tests.support import in_process

DAY = timedelta(days=1)


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Harness]]:
    """The classifier app in-process, and a harness delivering events to the same database and clock."""
    settings = ClassifierSettings(database_url=db_url, policy_file=EXAMPLE)
    app = build(settings)
    harness = Harness(app.state.runtime.sessions)
    app.state.classifier = harness.ctx
    async with in_process(app, "http://classifier") as client:
        yield client, harness


async def key(sessions: async_sessionmaker[AsyncSession], role: Role, tenant: str) -> dict[str, str]:
    async with sessions() as session, session.begin():
        _, secret = await create_key(session, role=role, tenant=tenant, label="test", now=MARCH)
    return {"Authorization": f"Bearer {secret}"}


async def leah_from_two_forces(h: Harness) -> list[str]:
    """Leah reported by Cleveland twice (with a person id) and once by Durham (no id, other casing, trailing space)."""
    reports = [
        reported(MARCH, police_person_id="CLE-P-1"),
        reported(MARCH + 10 * DAY, force="durham", given_name="LEAH ", family_name="example "),
        reported(MARCH + 20 * DAY, police_person_id="CLE-P-1", given_name="Leah-Marie"),
    ]
    for report in reports:
        h.clock.set(report.reported_at)
        await h.deliver(report)
        await h.deliver(returned(report, report.reported_at + timedelta(hours=5)))
    return [r.episode_id for r in reports]


async def test_the_same_child_from_two_forces_is_one_child_and_unlinking_splits_the_counts(
    api: tuple[httpx.AsyncClient, Harness],
) -> None:
    client, h = api
    episodes = await leah_from_two_forces(h)
    links = [e["data"]["method"] for e in await h.events("child.episode_linked")]
    assert links == ["new_child", "name_and_date_of_birth", "police_person_id"]
    mset = await key(h.sessions, Role.MSET, "tees")
    page = (await client.get("/v1/mset/children", headers=mset)).json()
    assert page["total"] == 1
    [leah] = page["items"]
    assert leah["episodes_in_window"] == leah["episode_count"] == 3
    assert leah["rules"] == ["repeat-3-in-30-days"]
    child_id = leah["child_id"]

    durham_episode = episodes[1]
    body = {"episode_id": durham_episode, "reason": "Durham's Leah is another girl (checked with school)"}
    split = await client.post(f"/v1/children/{child_id}/unlinks", json=body, headers=mset)
    assert split.status_code == 200, split.text
    new_child = split.json()["child_id"]
    assert new_child != child_id
    assert (await client.get("/v1/mset/children", headers=mset)).json()["total"] == 0, "2 episodes: off the list"
    detail = (await client.get(f"/v1/children/{child_id}", headers=mset)).json()
    assert detail["episode_count"] == 2
    assert [e["episode_id"] for e in detail["episodes"]] == [episodes[0], episodes[2]]
    [audit] = [entry for entry in detail["links"] if entry["action"] == "unlinked"]
    assert audit["reason"] == body["reason"]
    assert audit["actor"]
    assert audit["child_id"] == new_child
    assert audit["previous_child_id"] == child_id
    [event] = await h.events("child.episode_unlinked")
    assert event["data"]["actor"] == audit["actor"]

    relink = await client.post(
        f"/v1/children/{child_id}/links", json=body | {"reason": "it was her after all"}, headers=mset
    )
    assert relink.status_code == 200, relink.text
    assert relink.json()["episode_count"] == 3
    again = await client.post(f"/v1/children/{child_id}/links", json=body, headers=mset)
    assert again.status_code == 409
    assert len(await h.events("child.repeat_missing")) == 2, "crossed, dropped below on unlink, crossed again"


async def test_a_partnership_never_sees_another_partnerships_children(api: tuple[httpx.AsyncClient, Harness]) -> None:
    client, h = api
    await leah_from_two_forces(h)
    tees, durham = await key(h.sessions, Role.MSET, "tees"), await key(h.sessions, Role.MSET, "durham-darlington")
    police = await key(h.sessions, Role.POLICE, "cleveland")
    [leah] = (await client.get("/v1/mset/children", headers=tees)).json()["items"]
    assert (await client.get("/v1/mset/children", headers=durham)).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
    for path in (f"/v1/children/{leah['child_id']}", f"/v1/children/{leah['child_id']}/timeline"):
        response = await client.get(path, headers=durham)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Leah" not in response.text
    assert (await client.get("/v1/mset/children", headers=police)).status_code == 403
    assert (await client.get("/v1/mset/children")).status_code == 401
    foreign = await client.get("/v1/mset/children", params={"la": "E06000005"}, headers=tees)
    assert foreign.status_code == 422
    body = {"episode_id": leah["child_id"], "reason": "trying"}
    assert (await client.post(f"/v1/children/{leah['child_id']}/unlinks", json=body, headers=durham)).status_code == 404


async def test_the_host_authoritys_partnership_sees_a_child_placed_there(
    api: tuple[httpx.AsyncClient, Harness],
) -> None:
    client, h = api
    await h.deliver(
        reported(
            MARCH, grade=RiskGrade.HIGH, given_name="Josh", host_la="E06000005", warning_markers=(WarningMarker.CSE,)
        )
    )
    for tenant in ("tees", "durham-darlington"):
        [josh] = (await client.get("/v1/mset/children", headers=await key(h.sessions, Role.MSET, tenant))).json()[
            "items"
        ]
        assert (josh["responsible_la"], josh["host_la"], josh["out_of_area"]) == ("E06000002", "E06000005", True)
        assert josh["markers"] == ["cse"]


async def test_filters_sort_pagination_and_csv(api: tuple[httpx.AsyncClient, Harness]) -> None:
    client, h = api
    for i, la in enumerate(["E06000002", "E06000003", "E06000004"]):
        h.clock.set(MARCH + i * DAY)
        await h.deliver(
            reported(
                MARCH + i * DAY,
                grade=RiskGrade.HIGH,
                given_name=f"Kid{i}",
                responsible_la=la,
                warning_markers=(WarningMarker.CCE,),
            )
        )
    await leah_from_two_forces(h)
    mset = await key(h.sessions, Role.MSET, "tees")

    async def names(**params: Any) -> list[str]:
        response = await client.get("/v1/mset/children", params=params, headers=mset)
        assert response.status_code == 200, response.text
        return [c["given_name"] for c in response.json()["items"]]

    assert await names() == ["Leah-Marie", "Kid2", "Kid1", "Kid0"]
    ascending = await names(sort="episodes_in_window")
    assert ascending[-1] == "Leah-Marie"
    assert sorted(ascending[:3]) == ["Kid0", "Kid1", "Kid2"], "ties break on the child id"
    descending = await names(sort="-episodes_in_window")
    assert descending[0] == "Leah-Marie"
    assert descending[1:] == ascending[:3][::-1]
    assert await names(la="E06000003") == ["Kid1"]
    assert await names(rule="repeat-3-in-30-days") == ["Leah-Marie"]
    assert await names(rule="exploitation-marker") == ["Kid2", "Kid1", "Kid0"]
    assert await names(limit=2, offset=1) == ["Kid2", "Kid1"]
    assert (await client.get("/v1/mset/children", params={"sort": "age"}, headers=mset)).status_code == 422

    exported = await client.get("/v1/mset/children.csv", params={"rule": "exploitation-marker"}, headers=mset)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["given_name"] for r in rows] == ["Kid2", "Kid1", "Kid0"]
    assert rows[0]["rules"] == "exploitation-marker"
    assert rows[0]["markers"] == "cce"
    assert rows[0]["looked_after"] == "False"


async def test_a_correction_is_a_new_audited_decision(api: tuple[httpx.AsyncClient, Harness]) -> None:
    client, h = api
    report = reported(MARCH)
    await h.deliver(report)
    mset = await key(h.sessions, Role.MSET, "tees")
    url = f"/v1/mset/episodes/{report.episode_id}/corrections"
    body = {"classification": "missing", "reason": "known to be with an older man"}
    made = await client.post(url, json=body, headers=mset)
    assert made.status_code == 201, made.text
    decision = made.json()
    assert (decision["trigger"], decision["previous_classification"], decision["classification"]) == (
        "correction",
        "absent",
        "missing",
    )
    assert decision["actor"]
    assert decision["reason"] == body["reason"]
    first, second = await h.decisions(report.episode_id)
    assert (first["classification"], second["trigger"], second["actor"]) == ("absent", "correction", decision["actor"])
    assert (await client.post(url, json=body, headers=mset)).status_code == 409
    other = await key(h.sessions, Role.MSET, "durham-darlington")
    assert (await client.post(url, json=body | {"classification": "absent"}, headers=other)).status_code == 404
    assert (await client.post(url, json={"classification": "absent"}, headers=mset)).status_code == 422


async def test_the_timeline_has_every_episode_decision_link_task_and_notification(
    api: tuple[httpx.AsyncClient, Harness],
) -> None:
    client, h = api
    report = reported(MARCH, grade=RiskGrade.HIGH)
    await h.deliver(report)
    h.advance(timedelta(hours=6))
    await h.deliver(returned(report, h.clock.now()))
    from shared.events.payloads.rhi import RhiTaskOpened

    opened = SAMPLES[RhiTaskOpened].model_copy(update={"episode_id": report.episode_id, "at": h.clock.now()})
    await h.deliver(opened, source="rhi_tracker")
    notice = SAMPLES[NotificationDelivered].model_copy(
        update={"episode_id": report.episode_id, "at": h.clock.now() + timedelta(seconds=1)}
    )
    await h.deliver(notice, source="notifier")
    mset = await key(h.sessions, Role.MSET, "tees")
    child_id = await h.child_of(report.episode_id)
    items = (await client.get(f"/v1/children/{child_id}/timeline", headers=mset)).json()["items"]
    kinds = [i["kind"] for i in items]
    for kind in (
        "episode.reported",
        "episode.classified",
        "child.episode_linked",
        "episode.returned",
        "rhi.opened",
        "notification.delivered",
    ):
        assert kind in kinds
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert all("Leah" not in i["summary"] for i in items), "no names in the timeline"
