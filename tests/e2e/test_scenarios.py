"""The ten stories of SCENARIOS.md end to end: police posts in, notices out, every consequence, across services.

One stack for the module (tests/e2e/world.py) on a shared test clock. Each story has its own
children and its own weeks (laid out in order, so a full run only moves the clock forward), and
asserts only about its own episodes, so any one of them also runs alone or in another order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.stack import SERVICES
from services.notifier.fieldsets import outside
from tests.e2e.logscan import Person, json_lines, leaks, posted_people, read_logs
from tests.e2e.support import Police, wait_for
from tests.e2e.world import Json, World, child, london, report_body, start_world

pytestmark = [pytest.mark.e2e]
HARTLEPOOL, MIDDLESBROUGH, REDCAR, STOCKTON = "E06000001", "E06000002", "E06000003", "E06000004"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The stack every story shares; sweeps run often so deadlines are seen soon after the clock passes them."""
    w = start_world(
        tmp_path_factory.mktemp("scenarios"),
        london("2025-12-01 09:00"),
        MCN_CLASSIFIER_SWEEP_INTERVAL="PT0.5S",
        MCN_RHI_SWEEP_INTERVAL="PT0.2S",
        MCN_RELEASE_SWEEP_INTERVAL="PT0.5S",
    )
    yield w
    w.stack.stop_all()


def routed(world: World, episode_id: str) -> set[tuple[str, str]]:
    """(event type, recipient) of every delivery about the episode, from the ops delivery log."""
    return {(d["event_type"], d["recipient_id"]) for d in world.deliveries(episode_id)}


def test_1_late_home_with_no_apparent_risk_is_absent_and_still_gets_an_interview(world: World) -> None:
    mia = child("Mia", "Thornbury", "2010-06-12", MIDDLESBROUGH)
    episode = world.report(  # Friday 22:40, reported by her mother; she is at a friend's
        london("2025-12-05 22:40"),
        mia,
        grade="no_apparent_risk",
        whereabouts_known=True,
        last_seen_location="a friend's house",
        reporter_type="parent_or_carer",
    )
    world.returned(episode, london("2025-12-06 01:10"))

    seen = world.police_view(episode)
    assert (seen["classification"], seen["classification_detail"]["rule_ids"]) == ("absent", ["A1-no-apparent-risk"])
    history = world.decisions(episode)
    [decision] = history["decisions"]
    assert (decision["rule_ids"], decision["reasons"]) == (["A1-no-apparent-risk"], ["graded no apparent risk"])

    task = world.desk(MIDDLESBROUGH).task_for(episode)  # rhi_for_absent is on by default
    # SCENARIOS.md says "due Monday 01:10", but she is back on Saturday at 01:10, and 72 clock hours on
    # (DOMAIN.md; as in stories 2, 5 and 6) is Tuesday 01:10.
    assert (task["status"], task["due_local"]) == ("open", "2025-12-09T01:10:00+00:00"), "return + 72 h"
    world.wait_notices("middlesbrough-rhi", "rhi.opened", episode)
    [told] = world.wait_notices("middlesbrough-childrens-services", "episode.classified", episode)
    assert told.data["classification"] == "absent"
    # Routing writes every delivery of an event at once: with both notices in, the log is complete.
    assert routed(world, episode) == {
        ("episode.classified", "middlesbrough-childrens-services"),
        ("rhi.opened", "middlesbrough-rhi"),
    }, "no MSET notice"
    assert world.notices("tees-mset", about=episode) == world.notices("tees-mset", about=history["child_id"]) == []
    assert world.mset_row(history["child_id"]) is None, "not on the MSET list"

    world.at(london("2025-12-07 23:00"))  # past 24 hours: she is back, so nothing is reclassified
    time.sleep(1.5)
    assert len(world.decisions(episode)["decisions"]) == 1

    def quarter() -> Json | None:
        figures = world.desk(MIDDLESBROUGH).report("2025-10-01", "2025-12-31", MIDDLESBROUGH)
        return figures if figures["measures"]["absent"]["incidents"] == 1 else None

    measures = wait_for(quarter, timeout=15)["measures"]
    assert (measures["absent"]["children"], measures["missing"]["incidents"], measures["rhi.opened"]["incidents"]) == (
        1,
        0,
        1,
    )


JOSH = child(
    "Josh",
    "Fairbairn",
    "2009-10-03",
    REDCAR,
    sex="male",
    host_la=STOCKTON,
    looked_after=True,
    placement_type="childrens_home",
    warning_markers=["cse"],
)
FINDINGS = {
    "pull_factors": ["older_adults"],
    "exploitation_indicators": ["cse", "drugs"],
    "places": [{"type": "flat_or_house", "description": "a flat in town"}],
    "people_with": [{"description": "older men", "approximate_age": 25}],
    "child_words": "They gave me stuff and said I owed them.",
    "interviewer_independent": True,
}


def test_2_looked_after_out_of_area_with_an_exploitation_marker(world: World) -> None:
    reported = london("2026-01-09 19:00")
    episode = world.report(reported, JOSH, grade="high", reporter_type="childrens_home", circumstances="went before")
    assert world.police_view(episode)["classification"] == "missing"

    # Authority A's and B's social care and the MSET coordinator, at once (not held), each with its own view.
    placing = world.wait_notices("redcar-childrens-services", "episode.classified", episode)
    hosting = world.wait_notices("stockton-childrens-services", "episode.classified", episode)
    [mset] = world.wait_notices("tees-mset", "episode.classified", episode)
    for notice in (*placing, *hosting, mset):
        assert notice.received_at < reported + timedelta(minutes=5)
    for notice in (*placing, *hosting):
        assert notice.body["audience"] == "social_care"
        assert (notice.data["classification"], notice.data["episode"]["child"]["host_la"]) == ("missing", STOCKTON)
    assert (mset.body["audience"], outside("mset", mset.body)) == ("mset", set())
    assert (mset.data["child"]["warning_markers"], mset.data["episode"]["risk_grade"]) == (["cse"], "high")

    # Found at 03:00 two days later, back at 04:30: Authority A's task, due 04:30 three days on.
    world.returned(episode, london("2026-01-11 04:30"), found_at=london("2026-01-11 03:00").isoformat())
    [opened] = world.wait_notices("redcar-rhi", "rhi.opened", episode)
    assert datetime.fromisoformat(opened.data["due_at"]) == london("2026-01-14 04:30")
    assert world.notices("stockton-rhi", about=episode) == [], "the task belongs to the responsible authority"

    world.at(london("2026-01-12 10:00"))  # the interview, recorded through the tracker's API
    desk = world.desk(REDCAR)
    task = desk.task_for(episode)
    done = desk.post(f"/tasks/{task['id']}/complete", {"findings": FINDINGS}, version=task["version"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["on_time"]) == ("completed", True)

    [worker] = world.wait_notices("redcar-childrens-services", "rhi.completed", episode)
    assert worker.data["findings"]["child_words"] == FINDINGS["child_words"]
    [pack] = world.wait_notices("tees-mset", "rhi.completed", episode)
    assert pack.data["findings"]["pull_factors"] == ["older_adults"]
    assert pack.data["findings"]["exploitation_indicators"] == ["cse", "drugs"]
    assert "owed them" not in pack.raw, "MSET gets themes, not the child's words"
    [intel] = world.wait_notices("cleveland-police-intelligence", "rhi.completed", episode)
    assert intel.data["places"] == [{"type": "flat_or_house", "description": "a flat in town", "postcode": None}]
    assert outside("police", intel.body) == set()
    assert "Josh" not in intel.raw

    child_id = world.decisions(episode)["child_id"]
    row = wait_for(lambda: (r := world.mset_row(child_id)) and r["themes"]["pull_factors"] and r, timeout=15)
    assert row["themes"] == {
        "push_factors": [],
        "pull_factors": ["older_adults"],
        "exploitation_indicators": ["cse", "drugs"],
        "places": ["a flat in town"],
    }
    assert (row["rhi"]["status"], row["rhi"]["on_time"], row["out_of_area"]) == ("completed", True, True)


def test_3_repeat_missing_meets_the_rule_once(world: World) -> None:
    leah = child("Leah", "Quarrie", "2012-11-20", STOCKTON)
    episodes = []
    for day in ("02", "12", "24"):
        reported = london(f"2026-03-{day} 18:00")
        episodes.append(world.report(reported, leah, grade="low"))
        world.returned(episodes[-1], reported + timedelta(hours=15))
    [child_id] = {world.decisions(e)["child_id"] for e in episodes}  # one child across the reports

    def third_return_seen() -> Json | None:
        # The count follows the third report; the last return follows its own event, perhaps a moment later.
        row = world.mset_row(child_id)
        returned = row and row["episodes_in_window"] == 3 and row["last_returned_at"]
        return row if returned and datetime.fromisoformat(returned) == london("2026-03-25 09:00") else None

    row = wait_for(third_return_seen, timeout=15)
    assert row["rules"] == ["repeat-3-in-30-days"]
    [notice] = world.wait_notices("tees-mset", "child.repeat_missing", child_id)
    assert (notice.data["repeat"]["rule_id"], notice.data["repeat"]["episode_count"]) == ("repeat-3-in-30-days", 3)

    fourth = world.report(london("2026-03-27 18:00"), leah, grade="low")
    wait_for(lambda: (r := world.mset_row(child_id)) and r["episodes_in_window"] == 4, timeout=15)
    assert world.decisions(fourth)["child_id"] == child_id
    world.wait_notices("stockton-childrens-services", "episode.classified", fourth)
    time.sleep(1.5)  # room for a second crossing notice to arrive, if one were sent
    crossings = [i for i in world.timeline(child_id) if i["kind"] == "child.repeat_missing"]
    assert len(crossings) == 1, "one child.repeat_missing event"
    assert len(world.notices("tees-mset", "child.repeat_missing", child_id)) == 1, "no second notice"


def test_4_absent_turns_missing_after_24_hours_and_the_first_decision_stays(world: World) -> None:
    reported = london("2026-04-02 16:00")
    sam = child("Sam", "Oakenshaw", "2011-08-14", REDCAR)
    circumstances = "probably at his cousin's"
    episode = world.report(
        reported, sam, grade="no_apparent_risk", whereabouts_known=False, circumstances=circumstances
    )
    first = world.decisions(episode)["decisions"][0]
    assert (first["classification"], first["trigger"]) == ("absent", "reported")
    [absent] = world.wait_notices("redcar-childrens-services", "episode.classified", episode)
    assert absent.data["classification"] == "absent"

    world.at(reported + timedelta(hours=23))
    time.sleep(1.5)  # several sweeps pass
    assert len(world.decisions(episode)["decisions"]) == 1, "not yet 24 hours"
    world.at(reported + timedelta(hours=24, seconds=1))
    history = world.decisions(episode, count=2)
    kept, later = history["decisions"]
    assert kept == first, "the first classification stays in the history"
    assert (later["classification"], later["trigger"], later["previous_classification"]) == (
        "missing",
        "still_open",
        "absent",
    )
    assert later["reason"] == "still open 24 hours after the report"
    assert "O9-still-open" in later["rule_ids"]

    # Notices as for a missing child: his authority's social care (no host, no school, no marker).
    [missing] = world.wait_notices("redcar-childrens-services", "episode.reclassified", episode)
    assert missing.data["classification"] == "missing"
    assert routed(world, episode) == {
        ("episode.classified", "redcar-childrens-services"),
        ("episode.reclassified", "redcar-childrens-services"),
    }
    # The police read-back follows once intake has consumed the reclassification too.
    wait_for(lambda: world.police_view(episode)["classification"] == "missing", timeout=15)


def test_5_breach_then_a_late_interview_counted_as_not_within_72_hours(world: World) -> None:
    ava = child("Ava", "Brindley", "2012-05-01", MIDDLESBROUGH)
    episode = world.report(london("2026-04-20 18:00"), ava)
    world.returned(episode, london("2026-04-21 10:00"))  # Tuesday 10:00
    desk = world.desk(MIDDLESBROUGH)
    task = desk.task_for(episode)
    task_id = task["id"]
    assert (task["status"], task["due_local"]) == ("open", "2026-04-24T10:00:00+01:00"), "Friday 10:00"

    for count, day in enumerate(("2026-04-22", "2026-04-23"), start=1):  # reminders at 24 h and 48 h
        world.at(london(f"{day} 10:00:01"))
        wait_for(lambda: desk.history(task_id).count("rhi.reminder") == count, timeout=10)  # noqa: B023
        world.wait_notices("middlesbrough-rhi", "rhi.reminder", task_id, count=count)

    world.at(london("2026-04-24 09:59:57"))  # Friday, three seconds before the deadline
    time.sleep(1)
    assert "rhi.breached" not in desk.history(task_id)
    [to_ops] = world.wait_notices("tees-ops", "rhi.breached", task_id)
    [to_lead] = world.wait_notices("middlesbrough-missing-lead", "rhi.breached", task_id)
    time.sleep(1)  # five more sweeps
    assert desk.history(task_id).count("rhi.breached") == 1, "exactly one breach event"
    assert len(world.notices("tees-ops", "rhi.breached", task_id)) == 1
    assert len(world.notices("middlesbrough-missing-lead", "rhi.breached", task_id)) == 1
    breached_at = datetime.fromisoformat(desk.task(task_id)["breached_at"])
    assert london("2026-04-24 10:00") <= breached_at < london("2026-04-24 10:01"), "at Friday 10:00"
    assert outside("ops", to_ops.body) == set()
    assert "Ava" not in to_ops.raw
    assert to_lead.data["task_id"] == task_id

    world.at(london("2026-04-24 15:00"))  # the interview is recorded on Friday 15:00
    findings = {"push_factors": ["family_conflict"], "interviewer_independent": True}
    done = desk.post(f"/tasks/{task_id}/complete", {"findings": findings}, version=desk.task(task_id)["version"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["on_time"]) == ("completed", False), "completed late"
    measures = desk.report("2026-04-01", "2026-06-30", MIDDLESBROUGH)["measures"]
    counted = {k: measures[k]["incidents"] for k in ("rhi.completed", "rhi.completed_within_72h", "rhi.breached")}
    assert counted == {"rhi.completed": 1, "rhi.completed_within_72h": 0, "rhi.breached": 1}


def test_6_missing_again_before_the_interview_supersedes_the_first_task(world: World) -> None:
    noah = child("Noah", "Fairweather", "2012-02-02", REDCAR, police_person_id="CLE-P-NOAH-FW")
    desk = world.desk(REDCAR)
    first = world.report(london("2026-05-10 21:00"), noah)
    world.returned(first, london("2026-05-11 09:00"))  # Monday 09:00
    first_task = desk.task_for(first)
    assert first_task["due_local"] == "2026-05-14T09:00:00+01:00"

    second = world.report(london("2026-05-12 20:00"), noah)  # Tuesday 20:00
    world.returned(second, london("2026-05-13 08:00"))  # Wednesday 08:00
    wait_for(lambda: desk.task(first_task["id"])["status"] == "superseded", timeout=10)
    assert desk.task(first_task["id"])["superseded_by_episode_id"] == second
    world.wait_notices("redcar-rhi", "rhi.superseded", first_task["id"])
    second_task = desk.task_for(second)
    assert (second_task["status"], second_task["due_local"]) == ("open", "2026-05-16T08:00:00+01:00"), "Saturday"

    world.at(london("2026-05-14 09:00:05"))  # the first task's old deadline passes
    time.sleep(1)
    world.at(london("2026-05-16 08:00:01"))  # and the second's: the sweeper is alive and breaches that one
    world.wait_notices("tees-ops", "rhi.breached", second_task["id"])
    # Tuesday 09:00's reminder may come before the new report is processed; nothing comes after it.
    assert desk.history(first_task["id"]) in (
        ["rhi.opened", "rhi.superseded"],
        ["rhi.opened", "rhi.reminder", "rhi.superseded"],
    ), "no breach for the first task"
    for recipient in ("tees-ops", "redcar-missing-lead"):
        assert world.notices(recipient, about=first_task["id"]) == [], "nothing breaches for the first task"


def test_7_the_school_hears_once_on_monday_morning(world: World) -> None:
    ella = child("Ella", "Brackenridge", "2013-05-01", REDCAR, sex="female", school_urn="123456")
    episode = world.report(london("2026-05-16 14:00"), ella)  # Saturday
    world.wait_notices("redcar-childrens-services", "episode.classified", episode)
    world.returned(episode, london("2026-05-17 10:00"))  # Sunday
    world.wait_notices("redcar-rhi", "rhi.opened", episode)
    world.at(london("2026-05-18 07:59:30"))  # Monday, just before the release time
    time.sleep(1.5)
    assert world.notices("hillside-academy-dsl") == [], "nothing at the weekend, nothing before 08:00"

    world.at(london("2026-05-18 08:00"))
    [notice] = world.wait_notices("hillside-academy-dsl", "school.notice", None)
    time.sleep(1.5)
    assert len(world.notices("hillside-academy-dsl")) == 1, "one notice, nothing else about the episode"
    assert notice.received_at < london("2026-05-18 08:30")
    assert outside("school", notice.body) == set()
    assert notice.data["child"] == {"given_name": "Ella", "family_name": "Brackenridge", "date_of_birth": "2013-05-01"}
    [told] = notice.data["episodes"]
    assert (told["status"], datetime.fromisoformat(told["returned_at"])) == ("returned", london("2026-05-17 10:00"))
    assert told["police_reference"] == world.police_view(episode)["police_reference"]
    assert notice.data["la_contact"]["name"] == "Redcar and Cleveland"
    assert "Ella" not in notice.subject


def test_8_the_same_report_twice_is_one_episode_with_one_of_each_notice(world: World) -> None:
    when = london("2026-06-01 10:00")
    body = report_body(when, child("Isla", "Pemberton", "2011-03-09", STOCKTON))
    world.at(when + timedelta(minutes=1))
    first, retry = world.police.report(body), world.police.report(body)  # a retry after a timeout
    assert first.status_code == retry.status_code == 202
    assert first.json()["id"] == retry.json()["id"]
    episode = first.json()["id"]
    world.returned(episode, when + timedelta(hours=2))
    world.wait_notices("stockton-childrens-services", "episode.classified", episode)
    world.wait_notices("stockton-rhi", "rhi.opened", episode)
    time.sleep(1.5)
    deliveries = [(d["event_type"], d["recipient_id"]) for d in world.deliveries(episode)]
    assert sorted(deliveries) == [("episode.classified", "stockton-childrens-services"), ("rhi.opened", "stockton-rhi")]
    assert [len(world.notices(r, about=episode)) for r in ("stockton-childrens-services", "stockton-rhi")] == [1, 1]
    assert [v["version"] for v in world.police_view(episode)["versions"]] == [1]

    changed = world.police.report({**body, "risk_grade": "high"})
    assert changed.status_code == 409
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert f"/v1/episodes/{episode}/updates" in changed.json()["detail"]
    listed = httpx.get(f"{world.police.base}/v1/episodes", headers=world.police.headers, timeout=10).json()["items"]
    assert [e["id"] for e in listed].count(episode) == 1


def test_9_broker_down_posts_are_accepted_then_classified_and_notified_once(world: World) -> None:
    when = london("2026-06-02 10:00")
    world.at(when)
    world.stack.broker.stop()
    try:
        names = ("Ruby", "Alfie", "Poppy", "Theo", "Evie")
        episodes = [world.report(when, child(n, "Kettlewell", "2011-04-04", STOCKTON)) for n in names]
        for episode in episodes:
            world.returned(episode, when + timedelta(minutes=30))
        time.sleep(5)  # longer than the clients' request timeout, so every client sees the outage
        assert all(not world.notices("stockton-rhi", about=e) for e in episodes)
    finally:
        world.stack.broker.start()
    for episode in episodes:
        seen = world.police_view(episode, rhi=True, timeout=60)
        assert (seen["classification"], seen["rhi"]["status"]) == ("missing", "open")
        world.wait_notices("stockton-childrens-services", "episode.classified", episode, timeout=30)
        world.wait_notices("stockton-rhi", "rhi.opened", episode, timeout=30)
    time.sleep(2)
    for episode in episodes:
        assert routed(world, episode) == {
            ("episode.classified", "stockton-childrens-services"),
            ("rhi.opened", "stockton-rhi"),
        }
        assert len(world.deliveries(episode)) == 2, "none twice"
        assert [len(world.notices(r, about=episode)) for r in ("stockton-childrens-services", "stockton-rhi")] == [1, 1]


def test_10_bad_input_gets_a_clear_problem_and_stores_nothing(world: World) -> None:
    when = london("2026-06-03 10:00")
    world.at(when)
    police, other = Police(world.stack, force="durham"), Police(world.stack, force="northumbria")
    url = f"{police.base}/v1/episodes"
    valid = child("Maisie", "Thistlewood", "2010-12-24", HARTLEPOOL)

    def body(**changes: Any) -> Json:
        return {**report_body(when - timedelta(minutes=1), dict(valid)), **changes}

    no_birth = body()
    del no_birth["child"]["date_of_birth"]
    existing = other.report(body()).json()["id"]

    def post(content: bytes, content_type: str = "application/json") -> httpx.Response:
        headers = {**police.headers, "content-type": content_type}
        return httpx.post(url, content=content, headers=headers, timeout=30)

    future = (when + timedelta(hours=3)).isoformat()
    cases: list[tuple[str, httpx.Response, int, str]] = [
        ("missing date of birth", police.report(no_birth), 422, "/child/date_of_birth"),
        ("report in the future", police.report(body(reported_at=future)), 422, "/reported_at"),
        ("unknown risk grade", police.report(body(risk_grade="purple")), 422, "/risk_grade"),
        ("5 MB body", post(b'{"x": "' + b"a" * 5_000_000 + b'"}'), 413, "limit"),
        ("invalid JSON", post(b'{"police_reference": '), 400, "not valid JSON"),
        ("wrong content type", post(b"ref=1", "text/plain"), 415, "application/json"),
        ("no credential", httpx.post(url, json=body(), timeout=10), 401, "Authorization"),
        ("another force's episode", police.returned(existing, when.isoformat()), 404, "no episode"),
    ]
    episode = police.report(body()).json()["id"]
    early = police.returned(episode, (when - timedelta(hours=1)).isoformat())
    cases.append(("return before the report", early, 422, "/returned_at"))
    for name, response, status, names in cases:
        assert response.status_code == status, f"{name}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("application/problem+json"), name
        problem = response.json()
        assert names in problem["detail"] + " ".join(e["pointer"] for e in problem.get("errors", [])), name
    listed = httpx.get(url, headers=police.headers, timeout=10).json()["items"]
    assert [e["id"] for e in listed] == [episode], "only the one valid report was stored"
    assert httpx.get(f"{police.base}/health", timeout=5).json()["status"] == "ok"


def test_the_logs_follow_episodes_by_correlation_id_and_name_no_child(world: World) -> None:
    """Issue 7's scan: every log of the stack, after the stories, against every child posted to it."""
    # An episode of its own, through to a breach, so the scan never runs over logs that say nothing.
    when = london("2026-06-04 10:00")
    episode = world.report(when, child("Zara", "Quillfeather", "2012-07-19", REDCAR))
    # The breach below never passes through the classifier: wait until it has decided, so it has logged.
    world.police_view(episode)
    world.returned(episode, when + timedelta(hours=1))
    task_id = world.desk(REDCAR).task_for(episode)["id"]
    world.at(when + timedelta(hours=73))
    world.wait_notices("tees-ops", "rhi.breached", task_id)

    logs = read_logs(world.stack.config.data_dir / "logs")
    assert {*SERVICES, "gateway", "broker", "receiver", "smtp"} <= logs.keys()
    for service in SERVICES:
        records = json_lines(logs[service])
        assert len(records) == len(logs[service].splitlines()), f"{service}: every line is a JSON record"
        assert any(r.get("level") == "info" for r in records), f"{service} logs at INFO"
        assert episode in {r.get("correlation_id") for r in records}, f"{service} logs the episode's correlation id"

    people = posted_people(world.stack.database_url)
    assert Person("Zara", "Quillfeather", (), date(2012, 7, 19)) in people
    assert leaks(logs, people) == []
    ops = world.notices("tees-ops")
    assert ops, "the stories produced ops notices"
    assert [n.type for n in ops if leaks({"ops notice": n.raw}, people) or outside("ops", n.body)] == []
