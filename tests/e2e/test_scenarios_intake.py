"""Scenarios 8 (the same report twice) and 10 (bad input) of SCENARIOS.md, through the gateway."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.support import Police, hooks_for, now_iso, report_body, wait_for

pytestmark = [pytest.mark.e2e]


def test_scenario_8_the_same_report_twice_is_one_episode_with_one_notice(stack: Stack) -> None:
    police = Police(stack)
    body = report_body()
    first, retry = police.report(body), police.report(body)
    assert first.status_code == retry.status_code == 202
    assert first.json()["id"] == retry.json()["id"]
    episode_id = first.json()["id"]
    assert police.returned(episode_id).status_code == 202
    wait_for(lambda: hooks_for(stack, episode_id), timeout=10)
    time.sleep(1.5)
    assert len(hooks_for(stack, episode_id)) == 1

    changed = police.report({**body, "risk_grade": "high"})
    assert changed.status_code == 409
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert f"/v1/episodes/{episode_id}/updates" in changed.json()["detail"]
    listed = httpx.get(f"{police.base}/v1/episodes", headers=police.headers, timeout=10).json()["items"]
    assert [e["id"] for e in listed].count(episode_id) == 1


def _child_without_dob() -> dict[str, Any]:
    body = report_body()
    del body["child"]["date_of_birth"]
    return body


def test_scenario_10_bad_input_gets_a_clear_problem_and_stores_nothing(stack: Stack) -> None:
    police = Police(stack, force="durham")
    other = Police(stack, force="northumbria")
    url = f"{police.base}/v1/episodes"
    json_headers = {**police.headers, "content-type": "application/json"}
    existing = other.report().json()["id"]
    cases: list[tuple[str, httpx.Response, int, str]] = [
        ("missing date of birth", police.report(_child_without_dob()), 422, "/child/date_of_birth"),
        (
            "report in the future",
            police.report({**report_body(), "reported_at": now_iso(timedelta(hours=3))}),
            422,
            "/reported_at",
        ),
        ("unknown risk grade", police.report({**report_body(), "risk_grade": "purple"}), 422, "/risk_grade"),
        (
            "5 MB body",
            httpx.post(url, content=b'{"x": "' + b"a" * 5_000_000 + b'"}', headers=json_headers, timeout=30),
            413,
            "limit",
        ),
        (
            "invalid JSON",
            httpx.post(url, content=b'{"police_reference": ', headers=json_headers, timeout=10),
            400,
            "not valid JSON",
        ),
        (
            "wrong content type",
            httpx.post(url, content=b"ref=1", headers={**police.headers, "content-type": "text/plain"}, timeout=10),
            415,
            "application/json",
        ),
        ("no credential", httpx.post(url, json=report_body(), timeout=10), 401, "Authorization"),
        ("another force's episode", police.returned(existing), 404, "no episode"),
    ]
    reported = police.report()
    episode_id = reported.json()["id"]
    early = police.returned(episode_id, "2000-01-01T00:00:00+00:00")
    cases.append(("return before the report", early, 422, "/returned_at"))
    for name, response, status, names in cases:
        assert response.status_code == status, f"{name}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("application/problem+json"), name
        problem = response.json()
        assert names in problem["detail"] + " ".join(e["pointer"] for e in problem.get("errors", [])), name
    listed = httpx.get(url, headers=police.headers, timeout=10).json()["items"]
    assert [e["id"] for e in listed] == [episode_id], "only the one valid report was stored"
    assert httpx.get(f"{police.base}/health", timeout=5).json()["status"] == "ok"
