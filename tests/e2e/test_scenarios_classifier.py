"""Scenarios 1, 3 and 4 of SCENARIOS.md as far as the classifier shows them, through the gateway.

Each process runs on a shared FileClock (MCN_CLOCK_FILE) so the March dates of the stories are "now",
and the classifier sweeps every second. The steps are helpers, so other services' checks can be
added to the same stories.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from shared.clock import FileClock
from tests.e2e.conftest import start_stack
from tests.e2e.support import Police, wait_for

pytestmark = [pytest.mark.e2e]
LONDON_MARCH = UTC  # Europe/London is UTC until the last Sunday of March


class Story:
    """A running stack with a shared clock, a police force and an MSET coordinator of Tees."""

    def __init__(self, stack: Stack, clock_file: Path) -> None:
        self.stack = stack
        self.clock_file = clock_file
        self.police = Police(stack, force="cleveland")
        self.mset = {"Authorization": f"Bearer {stack.create_key('mset', 'tees')}"}

    def at(self, when: datetime) -> None:
        """Move every process's clock to `when`."""
        FileClock.set(self.clock_file, when)

    def report(self, when: datetime, child: dict[str, Any], **fields: Any) -> str:
        """Police report the child at `when` (the clock moves there first); returns the episode id."""
        self.at(when + timedelta(seconds=5))
        body = {
            "police_reference": f"CLE-{uuid.uuid4().hex[:10]}",
            "reported_at": when.isoformat(),
            "risk_grade": "no_apparent_risk",
            "child": child,
            **fields,
        }
        response = self.police.report(body)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def returned(self, episode_id: str, when: datetime) -> None:
        """The child comes back at `when`."""
        self.at(when + timedelta(seconds=5))
        assert self.police.returned(episode_id, when.isoformat()).status_code == 202

    def get(self, path: str, **params: Any) -> httpx.Response:
        """An MSET read through the gateway."""
        return httpx.get(self.stack.url() + path, params=params, headers=self.mset, timeout=10)

    def decisions(self, episode_id: str, count: int = 1) -> dict[str, Any]:
        """The episode's decision history once it has at least `count` decisions."""

        def ready() -> dict[str, Any] | None:
            response = self.get(f"/v1/mset/episodes/{episode_id}/decisions")
            body: dict[str, Any] = response.json()
            return body if response.status_code == 200 and len(body["decisions"]) >= count else None

        return wait_for(ready, timeout=15)

    def police_view(self, episode_id: str) -> dict[str, Any]:
        """The police read-back once it shows a classification."""

        def ready() -> dict[str, Any] | None:
            url = f"{self.police.base}/v1/episodes/{episode_id}"
            episode: dict[str, Any] = httpx.get(url, headers=self.police.headers, timeout=5).json()
            return episode if episode.get("classification_detail") else None

        return wait_for(ready, timeout=15)

    def timeline(self, child_id: str) -> list[dict[str, Any]]:
        """The child's timeline items."""
        items: list[dict[str, Any]] = self.get(f"/v1/children/{child_id}/timeline").json()["items"]
        return items

    def on_list(self, child_id: str, episodes: int) -> dict[str, Any]:
        """The child's row on the MSET list once it counts `episodes` in the window."""

        def ready() -> dict[str, Any] | None:
            items = self.get("/v1/mset/children", limit=500).json()["items"]
            row = next((c for c in items if c["child_id"] == child_id), None)
            return row if row is not None and row["episodes_in_window"] == episodes else None

        return wait_for(ready, timeout=15)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """One stack for the module, on a FileClock starting 1 March 2026, sweeping every second."""
    data_dir = tmp_path_factory.mktemp("classifier-stack")
    clock_file = data_dir / "clock.json"
    FileClock.set(clock_file, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    stack = start_stack(data_dir, MCN_CLOCK_FILE=str(clock_file), MCN_CLASSIFIER_SWEEP_INTERVAL="PT1S")
    try:
        yield Story(stack, clock_file)
    finally:
        stack.stop_all()


def child(given: str, born: str, **more: Any) -> dict[str, Any]:
    """A child record of Middlesbrough (Tees partnership)."""
    return {"given_name": given, "family_name": "Example", "date_of_birth": born, "responsible_la": "E06000002", **more}


def test_scenario_1_late_home_no_apparent_risk_is_absent(story: Story) -> None:
    friday = datetime(2026, 3, 6, 22, 40, tzinfo=LONDON_MARCH)
    mia = story.report(friday, child("Mia", "2010-09-01"), whereabouts_known=True, last_seen_location="a friend's")
    story.returned(mia, datetime(2026, 3, 7, 1, 10, tzinfo=LONDON_MARCH))
    seen = story.police_view(mia)
    assert seen["classification"] == "absent"
    assert seen["classification_detail"]["rule_ids"] == ["A1-no-apparent-risk"]
    history = story.decisions(mia)
    [decision] = history["decisions"]
    assert (decision["classification"], decision["rule_ids"]) == ("absent", ["A1-no-apparent-risk"])
    assert decision["reasons"] == ["graded no apparent risk"]
    story.at(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))  # well past 24 hours: returned, so not reclassified
    kinds = [i["kind"] for i in story.timeline(history["child_id"])]
    assert "child.repeat_missing" not in kinds, "no MSET notice"
    assert kinds.count("episode.reclassified") == 0
    assert history["child_id"] not in [c["child_id"] for c in story.get("/v1/mset/children").json()["items"]]


def test_scenario_3_repeat_missing_meets_the_rule_once(story: Story) -> None:
    leah = child("Leah", "2012-11-20")
    episodes = []
    for day in (2, 12, 24):
        reported = datetime(2026, 3, day, 18, 0, tzinfo=LONDON_MARCH)
        episodes.append(story.report(reported, leah, risk_grade="low"))
        story.returned(episodes[-1], reported + timedelta(hours=15))
    child_ids = {story.decisions(e)["child_id"] for e in episodes}
    assert len(child_ids) == 1, "one child across the three reports"
    [child_id] = child_ids
    row = story.on_list(child_id, episodes=3)
    assert row["rules"] == ["repeat-3-in-30-days"]
    assert row["last_returned_at"].startswith("2026-03-25T09:00")

    fourth = story.report(datetime(2026, 3, 27, 18, 0, tzinfo=LONDON_MARCH), leah, risk_grade="low")
    story.on_list(child_id, episodes=4)
    assert story.decisions(fourth)["child_id"] == child_id
    crossings = [i for i in story.timeline(child_id) if i["kind"] == "child.repeat_missing"]
    assert len(crossings) == 1, "the fourth episode does not cross the threshold again"
    assert crossings[0]["detail"]["rule_id"] == "repeat-3-in-30-days"


def test_scenario_4_absent_turns_missing_after_24_hours_and_the_first_decision_stays(story: Story) -> None:
    reported = datetime(2026, 3, 28, 16, 0, tzinfo=LONDON_MARCH)
    sam = story.report(
        reported, child("Sam", "2011-08-14"), whereabouts_known=False, circumstances="probably at his cousin's"
    )
    first = story.decisions(sam)["decisions"][0]
    assert (first["classification"], first["trigger"]) == ("absent", "reported")
    story.at(reported + timedelta(hours=23))
    time.sleep(2.5)  # two sweeps pass
    assert len(story.decisions(sam)["decisions"]) == 1, "not yet 24 hours"
    story.at(reported + timedelta(hours=24, seconds=1))
    history = story.decisions(sam, count=2)
    kept, later = history["decisions"]
    assert kept == first, "the first decision is kept as it was"
    assert (later["classification"], later["trigger"], later["previous_classification"]) == (
        "missing",
        "still_open",
        "absent",
    )
    assert later["reason"] == "still open 24 hours after the report"
    assert "O9-still-open" in later["rule_ids"]
    assert history["classification"] == "missing"
