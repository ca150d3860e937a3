"""The chaos run's police: reports and returns through the gateway, retried with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

RETRY_FOR_S = 300.0  # a part is never down this long; after it the request counts as unanswered


class Episode(Protocol):
    """What the driver needs of a synthetic episode."""

    @property
    def force(self) -> str: ...

    @property
    def report(self) -> dict[str, Any]: ...

    @property
    def returned_at(self) -> Any: ...

    def return_body(self) -> dict[str, Any]: ...


@dataclass
class Driven:
    """What the police were told: accepted reports (reference -> id), accepted returns, the rest by reason."""

    reports: dict[tuple[str, str], str] = field(default_factory=dict)
    returns: set[str] = field(default_factory=set)
    rejected: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    done: int = 0


async def post(client: httpx.AsyncClient, url: str, body: dict[str, Any], key: str, driven: Driven) -> httpx.Response:
    """POST until answered below 500 (intake or the broker may be down): the same key, so intake dedupes."""
    delay, deadline = 0.05, time.monotonic() + RETRY_FOR_S
    while True:
        try:
            answer = await client.post(url, json=body, headers={"Idempotency-Key": key})
            if (answer.status_code < 500 and answer.status_code != 429) or time.monotonic() > deadline:
                return answer
            reason = str(answer.status_code)
        except httpx.TransportError as exc:
            if time.monotonic() > deadline:
                raise
            reason = type(exc).__name__
        driven.retries[reason] += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def one(client: httpx.AsyncClient, episode: Episode, driven: Driven) -> None:
    """Report one episode and, if the child came back, its return."""
    reference = episode.report["police_reference"]
    reported = await post(client, "/v1/episodes", episode.report, f"report-{reference}", driven)
    if reported.status_code not in (200, 201, 202):
        driven.rejected[f"report {reported.status_code}"] += 1
        return
    episode_id: str = reported.json()["id"]
    driven.reports[(episode.force, reference)] = episode_id
    if episode.returned_at is None:
        return
    url = f"/v1/episodes/{episode_id}/return"
    back = await post(client, url, episode.return_body(), f"return-{reference}", driven)
    if back.status_code in (200, 201, 202):
        driven.returns.add(episode_id)
    else:
        driven.rejected[f"return {back.status_code}"] += 1


class Pacer:
    """Spaces the starts of episodes 1/rate apart (no limit when rate is None)."""

    def __init__(self, rate: float | None) -> None:
        self._gap = 1 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next episode may start."""
        now = asyncio.get_running_loop().time()
        slot = max(self._next, now)
        self._next = slot + self._gap
        await asyncio.sleep(slot - now)


async def drive(
    base_url: str,
    keys: dict[str, str],
    episodes: Iterable[Episode],
    concurrency: int,
    driven: Driven,
    rate: float | None = None,
) -> None:
    """Drive every episode, at most `concurrency` in flight and `rate` started a second; count them in `driven`."""
    pacer = Pacer(rate)
    queue: asyncio.Queue[Episode] = asyncio.Queue()
    for episode in episodes:
        queue.put_nowait(episode)
    clients = {
        force: httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        for force, key in keys.items()
    }

    async def worker() -> None:
        while not queue.empty():
            episode = queue.get_nowait()
            await pacer.wait()
            try:
                await one(clients[episode.force], episode, driven)
            except httpx.TransportError as exc:
                driven.rejected[f"unanswered {type(exc).__name__}"] += 1
            driven.done += 1

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for client in clients.values():
            await client.aclose()
