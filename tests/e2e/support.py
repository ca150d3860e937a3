"""Helpers for end-to-end tests: posting as police, reading the webhook receiver."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import yaml

from devstack.stack import Stack

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, interval: float = 0.05) -> T:
    """Poll until check() returns something truthy, or fail with its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def now_iso(offset: timedelta = timedelta(0)) -> str:
    """An aware UTC timestamp string."""
    return (datetime.now(UTC) + offset).isoformat(timespec="seconds")


def report_body(reference: str | None = None, la: str = "E06000002", grade: str = "medium") -> dict[str, Any]:
    """A minimal valid report, reported a minute ago."""
    return {
        "police_reference": reference or f"CLE-{uuid.uuid4().hex[:10]}",
        "reported_at": now_iso(timedelta(minutes=-1)),
        "risk_grade": grade,
        "child": {"given_name": "Mia", "family_name": "Example", "date_of_birth": "2011-01-15", "responsible_la": la},
    }


class Police:
    """A police system posting through the gateway with its own key."""

    def __init__(self, stack: Stack, force: str = "cleveland") -> None:
        self.base = stack.url()
        self.headers = {"Authorization": f"Bearer {stack.create_key('police', force)}"}

    def report(self, body: dict[str, Any] | None = None) -> httpx.Response:
        """POST /v1/episodes."""
        return httpx.post(f"{self.base}/v1/episodes", json=body or report_body(), headers=self.headers, timeout=10)

    def returned(self, episode_id: str, returned_at: str | None = None, **fields: Any) -> httpx.Response:
        """POST /v1/episodes/{id}/return."""
        body = {"returned_at": returned_at or now_iso(), **fields}
        url = f"{self.base}/v1/episodes/{episode_id}/return"
        return httpx.post(url, json=body, headers=self.headers, timeout=10)

    def episode(self, episode_id: str) -> httpx.Response:
        """GET /v1/episodes/{id}: the police read-back."""
        return httpx.get(f"{self.base}/v1/episodes/{episode_id}", headers=self.headers, timeout=5)


def hooks(stack: Stack) -> list[dict[str, Any]]:
    """Every delivery the receiver has logged."""
    result: list[dict[str, Any]] = httpx.get(stack.url("receiver") + "/hooks", timeout=5).json()
    return result


def hooks_for(stack: Stack, episode_id: str) -> list[dict[str, Any]]:
    """Verified deliveries about one episode."""
    return [
        h for h in hooks(stack) if h["verified"] and (h["body"] or {}).get("data", {}).get("episode_id") == episode_id
    ]


def secrets_of(stack: Stack, recipient_id: str) -> list[str]:
    """The webhook secrets the policy gives a recipient."""
    policy = yaml.safe_load(stack.config.policy_file.read_text())
    recipient = next(r for r in policy["notifications"]["recipients"] if r["id"] == recipient_id)
    return [s for c in recipient["channels"] for s in c["secrets"]]
