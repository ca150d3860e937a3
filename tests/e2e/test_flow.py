"""Report, return, RHI task, signed webhook: every hop over Kafka, each service its own process."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from devstack.stack import Stack
from tests.e2e.support import Police, hooks_for, now_iso, secrets_of, wait_for

pytestmark = [pytest.mark.e2e]


def test_report_then_return_delivers_one_signed_webhook_within_5_seconds(stack: Stack) -> None:
    police = Police(stack)
    started = time.monotonic()
    reported = police.report()
    assert reported.status_code == 202, reported.text
    episode_id = reported.json()["id"]
    returned_at = now_iso()
    assert police.returned(episode_id, returned_at).status_code == 202
    [hook] = wait_for(lambda: hooks_for(stack, episode_id), timeout=5)
    assert time.monotonic() - started < 5

    assert hook["recipient_id"] == "middlesbrough-rhi"
    [secret] = secrets_of(stack, "middlesbrough-rhi")
    assert Webhook(secret).verify(hook["raw_body"], hook["headers"])["type"] == "rhi.opened"
    data = hook["body"]["data"]
    due = datetime.fromisoformat(data["due_at"]) - datetime.fromisoformat(returned_at)
    assert due == timedelta(hours=72)
    assert data["police_reference"] == reported.json()["police_reference"]
    assert hook["headers"]["webhook-id"].startswith("msg_")
    time.sleep(1)
    assert len(hooks_for(stack, episode_id)) == 1, "one notice per (event, recipient, channel)"


def test_the_police_read_back_shows_classification_and_rhi_status(stack: Stack) -> None:
    police = Police(stack)
    episode_id = police.report().json()["id"]
    assert police.returned(episode_id).status_code == 202

    def read_model() -> dict[str, object] | None:
        episode: dict[str, object] = police.episode(episode_id).json()
        return episode if episode["rhi"] and episode["classification_detail"] else None

    episode = wait_for(read_model, timeout=10)
    assert episode["classification"] == "missing"
    assert episode["classification_detail"]["rule_ids"]
    assert episode["rhi"]["status"] == "open"
    assert [v["version"] for v in episode["versions"]] == [1]


def test_the_gateway_answers_unknown_paths_with_a_problem(stack: Stack) -> None:
    r = httpx.get(stack.url() + "/v1/nothing-here", timeout=5)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
