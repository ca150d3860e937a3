"""Scenarios 5 (breach) and 6 (missing again before the interview) of SCENARIOS.md, as separate processes.

Every process shares a FileClock (MCN_CLOCK_FILE), so "Friday 10:00" is reached by moving the clock, not
by waiting; the tracker sweeps every 0.2 s. The steps (`Timeline`, `Desk`, `rhi_events`, `report_body`)
are reusable by scenarios that cross services (e.g. the notices that result).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devstack.stack import Stack
from shared.clock import FileClock
from tests.e2e.conftest import start_stack
from tests.e2e.support import Police, wait_for
from tests.support import read_topic

pytestmark = [pytest.mark.e2e]
LONDON = ZoneInfo("Europe/London")
SWEEP = 0.2  # seconds (MCN_RHI_SWEEP_INTERVAL)


def london(text: str) -> datetime:
    """A wall-clock time in Europe/London, e.g. london('2026-03-03 10:00')."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


class Timeline:
    """Moves every process's clock (the FileClock file) to a scenario time; time runs on from there."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def at(self, when: datetime) -> None:
        """Jump to `when`."""
        FileClock.set(self.path, when)


class Desk:
    """A social-care (or ops) principal using the tracker's API through the gateway."""

    def __init__(self, stack: Stack, role: str, tenant: str) -> None:
        self.base = stack.url()
        self.headers = {"Authorization": f"Bearer {stack.create_key(role, tenant)}"}

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET under /v1/rhi."""
        return httpx.get(f"{self.base}/v1/rhi{path}", params=params, headers=self.headers, timeout=10)

    def post(self, path: str, body: dict[str, Any], version: int) -> httpx.Response:
        """POST under /v1/rhi with If-Match naming the version the change is made against."""
        headers = {**self.headers, "If-Match": f'"{version}"'}
        return httpx.post(f"{self.base}/v1/rhi{path}", json=body, headers=headers, timeout=10)

    def task_for(self, episode_id: str, timeout: float = 15) -> dict[str, Any]:
        """Wait until the episode's task is on the worklist (open or offered) and return its detail."""

        def find() -> dict[str, Any] | None:
            # One status per request: the devstack gateway forwards only the last of repeated query parameters.
            items = self.get("/tasks").json()["items"]
            return next((t for t in items if t["episode_id"] == episode_id), None)

        summary = wait_for(find, timeout=timeout)
        detail: dict[str, Any] = self.get(f"/tasks/{summary['id']}").json()
        return detail

    def history(self, task_id: str) -> list[str]:
        """The event types of a task's history, in order."""
        return [h["event_type"] for h in self.get(f"/tasks/{task_id}").json()["history"]]


def report_body(reference: str, reported_at: datetime, la: str, person: str, name: str) -> dict[str, Any]:
    """A police report at a scenario time."""
    return {
        "police_reference": reference,
        "reported_at": reported_at.isoformat(),
        "risk_grade": "medium",
        "child": {
            "police_person_id": person,
            "given_name": name,
            "family_name": "Example",
            "date_of_birth": "2012-05-01",
            "responsible_la": la,
        },
    }


def rhi_events(stack: Stack, task_id: str) -> list[dict[str, Any]]:
    """Every event on the rhi topic about one task, read from the broker."""
    records = asyncio.run(read_topic(stack.broker.bootstrap, "rhi", expected=10_000, timeout=2))
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e["data"]["task_id"] == task_id]


def report_and_return(police: Police, timeline: Timeline, body: dict[str, Any], returned_at: datetime) -> str:
    """Report at the body's time and record the return at `returned_at`; return the episode id."""
    timeline.at(datetime.fromisoformat(body["reported_at"]) + timedelta(minutes=1))
    reported = police.report(body)
    assert reported.status_code == 202, reported.text
    episode_id: str = reported.json()["id"]
    timeline.at(returned_at + timedelta(minutes=1))
    back = police.returned(episode_id, returned_at.isoformat())
    assert back.status_code == 202, back.text
    return episode_id


@pytest.fixture(scope="module")
def rhi_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Timeline]]:
    """A stack whose processes share a FileClock and sweep deadlines every 0.2 s."""
    data_dir = tmp_path_factory.mktemp("rhi-stack")
    clock = data_dir / "clock.json"
    FileClock.set(clock, london("2026-03-02 09:00"))
    stack = start_stack(data_dir, MCN_CLOCK_FILE=str(clock), MCN_RHI_SWEEP_INTERVAL=f"PT{SWEEP}S")
    yield stack, Timeline(clock)
    stack.stop_all()


def test_scenario_5_breach_then_a_late_interview_counted_as_not_within_72_hours(
    rhi_stack: tuple[Stack, Timeline],
) -> None:
    stack, timeline = rhi_stack
    la = "E06000001"  # Hartlepool
    police, desk = Police(stack), Desk(stack, "social_care", la)
    body = report_body(f"CLE-AVA-{uuid.uuid4().hex[:6]}", london("2026-03-02 18:00"), la, "CLE-P-AVA", "Ava")
    episode_id = report_and_return(police, timeline, body, london("2026-03-03 10:00"))  # Tuesday 10:00
    task = desk.task_for(episode_id)
    task_id = task["id"]
    assert (task["status"], task["due_local"]) == ("open", "2026-03-06T10:00:00+00:00"), "Friday 10:00"

    timeline.at(london("2026-03-04 10:00:01"))  # Wednesday: 24 h
    wait_for(lambda: desk.history(task_id).count("rhi.reminder") == 1, timeout=10)
    timeline.at(london("2026-03-05 10:00:01"))  # Thursday: 48 h
    wait_for(lambda: desk.history(task_id).count("rhi.reminder") == 2, timeout=10)

    timeline.at(london("2026-03-06 09:59:57"))  # Friday, three seconds before the deadline
    time.sleep(1)
    assert "rhi.breached" not in desk.history(task_id)
    wait_for(lambda: "rhi.breached" in desk.history(task_id), timeout=10)
    time.sleep(5 * SWEEP)
    breaches = [e for e in rhi_events(stack, task_id) if e["type"] == "rhi.breached"]
    assert len(breaches) == 1, "exactly one breach event"
    assert breaches[0]["data"]["status"] == "open"
    lag = datetime.fromisoformat(breaches[0]["data"]["at"]) - datetime.fromisoformat(breaches[0]["data"]["due_at"])
    assert timedelta(0) <= lag <= timedelta(seconds=2), f"breach seen {lag} after the deadline"

    timeline.at(london("2026-03-06 15:00"))  # the interview is recorded on Friday 15:00
    findings = {"push_factors": ["family_conflict"], "interviewer_independent": True}
    done = desk.post(f"/tasks/{task_id}/complete", {"findings": findings}, version=task["version"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["on_time"]) == ("completed", False)
    completed = wait_for(lambda: [e for e in rhi_events(stack, task_id) if e["type"] == "rhi.completed"], timeout=10)
    assert completed[0]["data"]["on_time"] is False

    report = desk.get("/reports", **{"from": "2026-03-01", "to": "2026-03-31"}).json()
    measures = report["authorities"][0]["splits"]["all"]["measures"]
    counted = {k: measures[k]["incidents"] for k in ("rhi.completed", "rhi.completed_within_72h", "rhi.breached")}
    assert counted == {"rhi.completed": 1, "rhi.completed_within_72h": 0, "rhi.breached": 1}

    ops = Desk(stack, "ops", "tees").get("/sla").json()
    hartlepool = next(a for a in ops["authorities"] if a["la"] == la)
    assert (hartlepool["open"], hartlepool["breached"]) == (0, 0), "the late interview closed the breach"


def test_scenario_6_missing_again_before_the_interview_supersedes_the_first_task(
    rhi_stack: tuple[Stack, Timeline],
) -> None:
    stack, timeline = rhi_stack
    la = "E06000003"  # Redcar and Cleveland
    police, desk = Police(stack), Desk(stack, "social_care", la)
    first_body = report_body(f"CLE-NOAH1-{uuid.uuid4().hex[:6]}", london("2026-03-08 21:00"), la, "CLE-P-NOAH", "Noah")
    first = report_and_return(police, timeline, first_body, london("2026-03-09 09:00"))  # Monday 09:00
    first_task = desk.task_for(first)
    assert first_task["due_local"] == "2026-03-12T09:00:00+00:00"

    again = report_body(f"CLE-NOAH2-{uuid.uuid4().hex[:6]}", london("2026-03-10 20:00"), la, "CLE-P-NOAH", "Noah")
    second = report_and_return(police, timeline, again, london("2026-03-11 08:00"))  # Tuesday 20:00 -> Wednesday 08:00
    superseded = wait_for(lambda: desk.get(f"/tasks/{first_task['id']}").json()["status"] == "superseded", timeout=10)
    assert superseded
    first_task = desk.get(f"/tasks/{first_task['id']}").json()
    assert first_task["superseded_by_episode_id"] == second
    second_task = desk.task_for(second)
    assert (second_task["status"], second_task["due_local"]) == ("open", "2026-03-14T08:00:00+00:00"), "Saturday 08:00"

    timeline.at(london("2026-03-12 09:00:05"))  # the first task's old deadline passes
    time.sleep(10 * SWEEP)
    timeline.at(london("2026-03-14 08:00:01"))  # the second task's deadline: the sweeper is alive
    wait_for(lambda: "rhi.breached" in desk.history(second_task["id"]), timeout=10)
    first_events = [e["type"] for e in rhi_events(stack, first_task["id"])]
    # Tuesday 09:00's reminder may come before the new report is processed; nothing comes after it.
    assert first_events in (["rhi.opened", "rhi.superseded"], ["rhi.opened", "rhi.reminder", "rhi.superseded"])
    [link] = [e for e in rhi_events(stack, first_task["id"]) if e["type"] == "rhi.superseded"]
    assert link["data"]["superseded_by_episode_id"] == second
