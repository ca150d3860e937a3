"""The classifier's handlers on SQLite and PostgreSQL: decisions, reclassification, sweeps, repeat crossings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.classifier import sweeps
from services.classifier.models import Child, Decision, RhiStatus
from services.classifier.store import serialise
from shared.db import is_sqlite
from shared.events.codes import RiskFactor, RiskGrade, WarningMarker
from shared.sweeps import Sweeper
from tests.integration.test_classifier_support import MARCH, Harness, cancelled, reported, returned, updated
from tests.samples import SAMPLES

HOUR = timedelta(hours=1)


async def test_a_report_is_classified_with_its_rules_and_linked_to_a_new_child(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    nar = reported(MARCH)
    high = reported(MARCH, grade=RiskGrade.HIGH, given_name="Sam")
    await h.deliver(nar)
    await h.deliver(high)
    [absent] = await h.decisions(nar.episode_id)
    assert absent["classification"] == "absent"
    assert absent["rule_ids"] == ["A1-no-apparent-risk"]
    assert absent["trigger"] == "reported"
    assert absent["ruleset_version"] == h.ctx.version
    assert absent["episode"]["police_reference"] == nar.police_reference
    [missing] = await h.decisions(high.episode_id)
    assert missing["classification"] == "missing"
    assert missing["rule_ids"] == ["M1-graded-at-risk"]
    links = await h.events("child.episode_linked")
    assert [link["data"]["method"] for link in links] == ["new_child", "new_child"]
    assert absent["child_id"] == links[0]["data"]["child_id"] != missing["child_id"]
    assert links[0]["subject"] == absent["child_id"], "child events are keyed by the child id"


async def test_an_update_that_raises_the_risk_reclassifies_and_keeps_the_first_decision(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    report = reported(MARCH)
    await h.deliver(report)
    h.advance(HOUR)
    await h.deliver(updated(report, 2, h.clock.now(), last_seen_location="the park"))  # nothing new
    assert len(await h.decisions(report.episode_id)) == 1
    await h.deliver(updated(report, 3, h.clock.now(), risk_factors=(RiskFactor.SUSPECTED_CRIME_VICTIM,)))
    first, second = await h.decisions(report.episode_id)
    assert first["classification"] == "absent"
    assert second["classification"] == "missing"
    assert second["trigger"] == "updated"
    assert second["previous_classification"] == "absent"
    assert "suspected victim of crime" in second["reason"]
    assert second["episode"]["version"] == 3
    await h.deliver(updated(report, 4, h.clock.now(), risk_grade=RiskGrade.NO_APPARENT_RISK, risk_factors=()))
    assert len(await h.decisions(report.episode_id)) == 2, "automatic decisions never turn missing into absent"
    await h.deliver(updated(report, 3, h.clock.now(), risk_grade=RiskGrade.HIGH))  # stale version: ignored
    assert len(await h.decisions(report.episode_id)) == 2
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Decision)) == 2, "history rows, never overwritten"


async def test_the_sweep_reclassifies_an_absent_episode_still_open_after_24_hours(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    sam, back = reported(MARCH, given_name="Sam"), reported(MARCH, given_name="Mia")
    await h.deliver(sam)
    await h.deliver(back)
    sweeper = Sweeper(sessions=sessions, clock=h.clock, after_commit=lambda: None)
    sweep = sweeps.still_open(h.ctx, timedelta(seconds=1))
    h.advance(2 * HOUR)
    await h.deliver(returned(back, h.clock.now()))
    h.advance(21 * HOUR + timedelta(minutes=59))
    assert await sweeper.run(sweep) == 0, "not yet 24 hours"
    h.advance(timedelta(minutes=1))
    assert await sweeper.run(sweep) == 1
    assert await sweeper.run(sweep) == 0, "handled once"
    first, second = await h.decisions(sam.episode_id)
    assert (first["classification"], second["classification"]) == ("absent", "missing")
    assert second["trigger"] == "still_open"
    assert second["reason"] == "still open 24 hours after the report"
    assert "O9-still-open" in second["rule_ids"]
    assert [d["classification"] for d in await h.decisions(back.episode_id)] == ["absent"], "returned in time"


async def test_repeat_crossing_is_announced_once_per_crossing(sessions: async_sessionmaker[AsyncSession]) -> None:
    h = Harness(sessions)
    for day in (0, 10, 22, 25):  # 2, 12, 24 and 27 March
        h.clock.set(MARCH + timedelta(days=day))
        report = reported(h.clock.now())
        await h.deliver(report)
        h.advance(3 * HOUR)
        await h.deliver(returned(report, h.clock.now()))
    crossings = await h.events("child.repeat_missing")
    assert len(crossings) == 1, "the fourth episode sends no second event"
    data = crossings[0]["data"]
    assert data["rule_id"] == "repeat-3-in-30-days"
    assert data["episode_count"] == 3
    assert data["window_days"] == 30
    assert data["child"]["given_name"] == "Leah"
    assert crossings[0]["subject"] == data["child_id"]
    third = await h.decisions(data["episode_ids"][2])
    assert "O8-repeat-pattern" in third[0]["rule_ids"], "the third in 30 days is missing whatever the grade"

    review = sweeps.review(h.ctx, timedelta(seconds=1))
    sweeper = Sweeper(sessions=sessions, clock=h.clock, after_commit=lambda: None)
    h.clock.set(MARCH + timedelta(days=45))  # 16 April: only 24 and 27 March are still in the window
    assert await sweeper.run(review) >= 1
    async with sessions() as s:
        child = await s.get(Child, data["child_id"])
        assert child is not None
        assert (child.on_list, child.rules, child.episodes_in_window) == (False, [], 2)
    for day in (46, 50):  # back over the threshold: a new crossing
        h.clock.set(MARCH + timedelta(days=day))
        await h.deliver(reported(h.clock.now()))
    assert len(await h.events("child.repeat_missing")) == 2


async def test_an_exploitation_marker_meets_its_rule_at_once_and_cancelled_episodes_do_not_count(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    josh = reported(MARCH, grade=RiskGrade.HIGH, given_name="Josh", warning_markers=(WarningMarker.CSE,))
    await h.deliver(josh)
    [crossing] = await h.events("child.repeat_missing")
    assert crossing["data"]["rule_id"] == "exploitation-marker"
    await h.deliver(cancelled(josh, MARCH + HOUR))
    async with sessions() as s:
        child = await s.get(Child, crossing["data"]["child_id"])
        assert child is not None
        assert (child.on_list, child.episode_count) == (False, 0)
    for day in (1, 2):
        h.clock.set(MARCH + timedelta(days=day))
        await h.deliver(reported(h.clock.now()))
    assert [e["data"]["rule_id"] for e in await h.events("child.repeat_missing")] == ["exploitation-marker"]


async def test_interview_events_count_in_either_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    h = Harness(sessions)
    from shared.events.payloads.rhi import RhiInterviewCompleted, RhiTaskOpened

    opened, completed = SAMPLES[RhiTaskOpened], SAMPLES[RhiInterviewCompleted]
    report = reported(MARCH, grade=RiskGrade.HIGH, warning_markers=(WarningMarker.CSE,))
    early = opened.model_copy(update={"episode_id": report.episode_id})
    await h.deliver(early, source="rhi_tracker")  # before the classifier has seen the episode
    await h.deliver(report)
    await h.deliver(completed.model_copy(update={"episode_id": report.episode_id}), source="rhi_tracker")
    async with sessions() as s:
        child = (await s.scalars(select(Child).where(Child.on_list.is_(True)))).one()
        assert child.rhi is not None
        assert (child.rhi["status"], child.rhi["on_time"]) == ("completed", True)
        assert child.themes["pull_factors"] == ["older_adults"]
        assert child.themes["exploitation_indicators"] == ["cse", "drugs"]
        assert child.themes["places"] == ["a flat in town"]
        assert await s.get(RhiStatus, report.episode_id) is not None


async def test_an_update_that_corrects_identity_moves_the_episode_to_the_matching_child(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    leah = reported(MARCH, police_person_id="P-1")
    typo = reported(MARCH + HOUR, force="durham", given_name="Leha")
    for report in (leah, typo):
        await h.deliver(report)
    assert await h.child_of(typo.episode_id) != await h.child_of(leah.episode_id), "no fuzzy matching"
    h.advance(HOUR)
    await h.deliver(updated(typo, 2, h.clock.now(), child=typo.child.model_copy(update={"given_name": "Leah"})))
    moved = (await h.events("child.episode_linked"))[-1]["data"]
    assert moved["episode_id"] == typo.episode_id
    assert moved["child_id"] == await h.child_of(leah.episode_id)
    assert moved["method"] == "name_and_date_of_birth"
    assert moved["previous_child_id"] is not None
    async with sessions() as s:
        child = await s.get(Child, moved["child_id"])
        old = await s.get(Child, moved["previous_child_id"])
        assert child is not None
        assert old is not None
        assert (child.episode_count, old.episode_count) == (2, 0)


async def test_another_person_id_in_the_same_force_is_another_child_and_ambiguity_matches_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    h = Harness(sessions)
    first, second = reported(MARCH, police_person_id="P-1"), reported(MARCH, police_person_id="P-2")
    durham = reported(MARCH + HOUR, force="durham")
    for report in (first, second, durham):
        await h.deliver(report)
    ids = [await h.child_of(r.episode_id) for r in (first, second, durham)]
    assert len(set(ids)) == 3, "P-1 and P-2 are two children; Durham's Leah could be either, so neither"
    again = reported(MARCH + 2 * HOUR, police_person_id="P-2", given_name="Lea")  # the person id wins in the force
    await h.deliver(again)
    assert await h.child_of(again.episode_id) == ids[1]
    links = [e["data"]["method"] for e in await h.events("child.episode_linked")]
    assert links == ["new_child", "new_child", "new_child", "police_person_id"]


async def test_writers_take_turns_on_postgresql(sessions: async_sessionmaker[AsyncSession], db_url: str) -> None:
    if is_sqlite(db_url):
        pytest.skip("SQLite has one writer at a time already (BEGIN IMMEDIATE)")
    order: list[str] = []
    async with sessions() as first, first.begin():
        await serialise(first)

        async def second_writer() -> None:
            async with sessions() as second, second.begin():
                await serialise(second)
                order.append("second")

        task = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        order.append("first commits")
    await asyncio.wait_for(task, timeout=10)
    assert order == ["first commits", "second"]
