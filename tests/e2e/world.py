"""The harness of the end-to-end stories: one stack on a shared test clock, and the people who use it.

Every process reads the same FileClock (MCN_CLOCK_FILE), so a story reaches "Friday 10:00" by moving
the clock, not by waiting. Police post through the gateway; social care, ops and MSET read the
services' APIs; notices are read where partners receive them (the webhook receiver and the SMTP sink).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml

from devstack.stack import Stack
from shared.clock import FileClock
from tests.e2e.conftest import start_stack
from tests.e2e.support import Police, hooks, wait_for

LONDON = ZoneInfo("Europe/London")
Json = dict[str, Any]


def london(text: str) -> datetime:
    """A wall-clock time in Europe/London, e.g. london('2026-03-03 10:00')."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def child(given: str, family: str, born: str, la: str, **more: Any) -> Json:
    """A child record as a police system sends it."""
    return {"given_name": given, "family_name": family, "date_of_birth": born, "responsible_la": la, **more}


def report_body(when: datetime, kid: Json, grade: str = "medium", **fields: Any) -> Json:
    """A police report of the child made at `when`, under a fresh police reference."""
    reference = f"CLE-{uuid.uuid4().hex[:10]}"
    return {"police_reference": reference, "reported_at": when.isoformat(), "risk_grade": grade, "child": kid, **fields}


class Desk:
    """A social-care (or ops) principal using the RHI tracker's API through the gateway."""

    def __init__(self, stack: Stack, role: str, tenant: str) -> None:
        self.base = stack.url()
        self.headers = {"Authorization": f"Bearer {stack.create_key(role, tenant)}"}

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET under /v1/rhi."""
        return httpx.get(f"{self.base}/v1/rhi{path}", params=params, headers=self.headers, timeout=10)

    def post(self, path: str, body: Json, version: int) -> httpx.Response:
        """POST under /v1/rhi with If-Match naming the version the change is made against."""
        headers = {**self.headers, "If-Match": f'"{version}"'}
        return httpx.post(f"{self.base}/v1/rhi{path}", json=body, headers=headers, timeout=10)

    def task(self, task_id: str) -> Json:
        """One task with its findings and history."""
        body: Json = self.get(f"/tasks/{task_id}").json()
        return body

    def task_for(self, episode_id: str, timeout: float = 15) -> Json:
        """Wait until the episode's task is on the worklist (open or offered) and return its detail."""

        def find() -> Json | None:
            items = self.get("/tasks", limit="500").json()["items"]
            return next((t for t in items if t["episode_id"] == episode_id), None)

        return self.task(wait_for(find, timeout=timeout)["id"])

    def history(self, task_id: str) -> list[str]:
        """The event types of a task's history, in order."""
        return [h["event_type"] for h in self.task(task_id)["history"]]

    def report(self, start: str, end: str, la: str) -> Json:
        """The figures of one authority over [start, end] (days), all children."""
        response = self.get("/reports", **{"from": start, "to": end, "la": la})
        assert response.status_code == 200, response.text
        [authority] = response.json()["authorities"]
        figures: Json = authority["splits"]["all"]
        return figures


@dataclass(frozen=True)
class Notice:
    """One notice as a partner received it, over a webhook or by e-mail."""

    body: Json  # the envelope: type, audience, timestamp, data
    received_at: datetime
    raw: str  # everything the partner got: the body, or the mail's subject, text and attachment
    subject: str = ""  # an e-mail's subject line

    @property
    def type(self) -> str:
        """The notice type, e.g. episode.classified or school.notice."""
        return str(self.body["type"])

    @property
    def data(self) -> Json:
        """What the notice says."""
        data: Json = self.body["data"]
        return data

    def about(self, *ids: str) -> bool:
        """Whether the notice concerns any of these episodes, children or tasks."""
        return any(i in self.raw for i in ids)


class World:
    """The running stack, its clock, a police force, and the partnership's MSET and ops keys."""

    def __init__(self, stack: Stack, clock_file: Path) -> None:
        self.stack, self.clock_file = stack, clock_file
        self.police = Police(stack, force="cleveland")
        self.mset = {"Authorization": f"Bearer {stack.create_key('mset', 'tees')}"}
        self.ops = Desk(stack, "ops", "tees")
        self._desks: dict[str, Desk] = {}
        policy = yaml.safe_load(stack.config.policy_file.read_text())
        self.recipients: dict[str, Json] = {r["id"]: r for r in policy["notifications"]["recipients"]}

    # Time

    def at(self, when: datetime) -> None:
        """Move every process's clock to `when` (time runs on from there)."""
        FileClock.set(self.clock_file, when)

    def now(self) -> datetime:
        """The test clock's current instant."""
        return FileClock(self.clock_file).now()

    # Police

    def report(self, when: datetime, kid: Json, grade: str = "medium", **fields: Any) -> str:
        """Police report the child at `when` (the clock moves just past it first); returns the episode id."""
        self.at(when + timedelta(seconds=5))
        response = self.police.report(report_body(when, kid, grade, **fields))
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def returned(self, episode_id: str, when: datetime, **fields: Any) -> None:
        """The child comes back at `when` (the clock moves just past it first)."""
        self.at(when + timedelta(seconds=5))
        response = self.police.returned(episode_id, when.isoformat(), **fields)
        assert response.status_code == 202, response.text

    def police_view(self, episode_id: str, rhi: bool = False, timeout: float = 15) -> Json:
        """The police read-back once it shows a classification (and the RHI status, if asked)."""

        def ready() -> Json | None:
            episode: Json = self.police.episode(episode_id).json()
            return episode if episode.get("classification_detail") and (episode["rhi"] or not rhi) else None

        return wait_for(ready, timeout=timeout)

    # Social care and ops

    def desk(self, la: str) -> Desk:
        """The social-care desk of one local authority (its key made once)."""
        if la not in self._desks:
            self._desks[la] = Desk(self.stack, "social_care", la)
        return self._desks[la]

    def deliveries(self, episode_id: str) -> list[Json]:
        """The ops delivery log's rows about one episode (metadata only), oldest first."""
        response = httpx.get(
            self.stack.url() + "/v1/deliveries", params={"limit": 500}, headers=self.ops.headers, timeout=5
        )
        assert response.status_code == 200, response.text
        return [d for d in reversed(response.json()["items"]) if d["episode_id"] == episode_id]

    # MSET

    def mset_get(self, path: str, **params: Any) -> httpx.Response:
        """An MSET coordinator's read through the gateway."""
        return httpx.get(self.stack.url() + path, params=params, headers=self.mset, timeout=10)

    def decisions(self, episode_id: str, count: int = 1) -> Json:
        """The episode's decision history once it has at least `count` decisions."""

        def ready() -> Json | None:
            response = self.mset_get(f"/v1/mset/episodes/{episode_id}/decisions")
            body: Json = response.json()
            return body if response.status_code == 200 and len(body["decisions"]) >= count else None

        return wait_for(ready, timeout=15)

    def timeline(self, child_id: str) -> list[Json]:
        """The child's timeline items, oldest first."""
        items: list[Json] = self.mset_get(f"/v1/children/{child_id}/timeline").json()["items"]
        return items

    def mset_row(self, child_id: str) -> Json | None:
        """The child's row on the MSET list, if it is on it."""
        items = self.mset_get("/v1/mset/children", limit=500).json()["items"]
        return next((c for c in items if c["child_id"] == child_id), None)

    # Notices

    def notices(self, recipient_id: str, notice_type: str | None = None, about: str | None = None) -> list[Notice]:
        """What one recipient accepted (verified, not a repeat), oldest first; optionally of a type, about an id."""
        found = self._hooks(recipient_id) + self._mails(recipient_id)
        wanted = [n for n in found if notice_type in (None, n.type) and (about is None or n.about(about))]
        return sorted(wanted, key=lambda n: n.received_at)

    def wait_notices(
        self, recipient_id: str, notice_type: str, about: str | None, count: int = 1, timeout: float = 15
    ) -> list[Notice]:
        """Wait until the recipient has at least `count` such notices; return them all."""

        def enough() -> list[Notice] | None:
            found = self.notices(recipient_id, notice_type, about)
            return found if len(found) >= count else None

        return wait_for(enough, timeout=timeout)

    def _hooks(self, recipient_id: str) -> list[Notice]:
        return [
            Notice(h["body"], _at(h), h["raw_body"])
            for h in hooks(self.stack)
            if h["recipient_id"] == recipient_id and h["verified"] and h["status"] < 300 and not h["duplicate"]
        ]

    def _mails(self, recipient_id: str) -> list[Notice]:
        channels = self.recipients[recipient_id]["channels"]
        addresses = {a for c in channels if c.get("type") == "email" for a in c["to"]}
        if not addresses:
            return []
        entries = httpx.get(self.stack.url("smtp") + "/mails", timeout=5).json()
        return [
            Notice(m["notice"], _at(m), _raw_mail(m), m["subject"])
            for m in entries
            if addresses & set(m["to"]) and m["notice"] and not m["duplicate"]
        ]


def _at(entry: Json) -> datetime:
    return datetime.fromisoformat(entry["received_at"])


def _raw_mail(mail: Json) -> str:
    return "\n".join((mail["subject"], mail["text"], json.dumps(mail["notice"])))


def start_world(data_dir: Path, start: datetime, **env: str) -> World:
    """A stack whose processes share a FileClock starting at `start`, with the given extra settings."""
    clock_file = data_dir / "clock.json"
    FileClock.set(clock_file, start)
    stack = start_stack(data_dir, MCN_CLOCK_FILE=str(clock_file), **env)
    try:
        return World(stack, clock_file)
    except BaseException:
        stack.stop_all()
        raise
