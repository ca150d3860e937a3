"""Group commit under concurrency: duplicates in one batch, failures of one unit, all on both databases."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import shared.http
from services.intake.models import Episode, EpisodeVersion
from shared.auth import Principal, Role
from shared.outbox import OutboxMessage
from tests.integration.test_intake_api import auth, client, count, new_key, report, sessions_of

__all__ = ["client"]


async def test_concurrent_reports_in_one_batch_each_get_their_own_answer(client: httpx.AsyncClient) -> None:
    headers = auth(await new_key(sessions_of(client), Role.POLICE, "cleveland"))
    bodies = [report(f"G-{n}") for n in range(12)]
    duplicates = [report("G-DUP") for _ in range(5)]
    invalid = [report("G-BAD", risk_grade="purple"), report("G-FUT", reported_at="2026-04-01T00:00:00Z")]
    conflicting = [report("G-0", risk_grade="high")]
    answers = await asyncio.gather(
        *(client.post("/v1/episodes", json=b, headers=headers) for b in bodies + duplicates + invalid + conflicting)
    )
    statuses = [a.status_code for a in answers]
    assert statuses[1:17] == [202] * 16
    assert statuses[17:19] == [422, 422]
    # Two different bodies under G-0 race: whichever is stored first gets 202, the other a 409.
    assert sorted([statuses[0], statuses[19]]) == [202, 409]
    dup_ids = {a.json()["id"] for a in answers[12:17]}
    assert len(dup_ids) == 1, "the same report in one batch is one episode"
    assert await count(client, Episode) == 13
    assert await count(client, EpisodeVersion) == 13
    assert await count(client, OutboxMessage) == 13


async def test_concurrent_requests_with_an_uncached_key_share_one_lookup(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = auth(await new_key(sessions_of(client), Role.POLICE, "cleveland"))
    calls = 0
    real = shared.http.authenticate

    async def counting(session: AsyncSession, header: str | None) -> Principal:
        nonlocal calls
        calls += 1
        return await real(session, header)

    monkeypatch.setattr(shared.http, "authenticate", counting)
    answers = await asyncio.gather(*(client.get("/v1/episodes", headers=headers) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert calls == 1
    bad = await asyncio.gather(*(client.get("/v1/episodes", headers=auth("mcn_unknown")) for _ in range(5)))
    assert [a.status_code for a in bad] == [401] * 5
