"""Replay synthetic episodes into a running intake in simulation-time order, moving the shared FileClock along.

Reports and returns are sent in the order of their simulation times, each on a free keep-alive
connection (at most `concurrency` in flight). With a `rate` (episodes/s) the year is mapped onto wall
time linearly and each request falls due at its mapped time (latency counts from then, so a late
system shows); without one, requests go as fast as connections free up. The clock file is kept at
(or up to LEAD ahead of) the newest simulation time sent, so `reported_at` is never in the services'
future and deadlines fall due as the year goes by. A return waits for its report's episode id.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import loadgen
from devstack.synthetic import SyntheticEpisode
from shared.clock import FileClock

LEAD = timedelta(minutes=30)  # how far the clock may run ahead of the newest time sent
TICK = 0.1  # seconds between clock moves that keep simulation time flowing in rate mode


class BodyConnection(loadgen.Connection):
    """A connection that keeps 2xx bodies (the episode id is in the 202)."""

    keep_body = True


@dataclass
class Outcome:
    """What the replay saw from the HTTP side."""

    report_sent: dict[str, float] = field(default_factory=dict)  # episode id -> wall time the report fell due
    return_sent: dict[str, float] = field(default_factory=dict)
    answer_ms: list[float] = field(default_factory=list)  # POST -> HTTP answer
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    sim_reached: datetime | None = None


class Replay:
    """Send a list of synthetic episodes (and their returns) to the intake on 127.0.0.1:port."""

    def __init__(
        self,
        port: int,
        keys: dict[str, str],
        clock_file: Path,
        episodes: Sequence[SyntheticEpisode],
        *,
        start: datetime,
        days: float,
        rate: float | None,
        concurrency: int,
    ) -> None:
        self.port, self.keys, self.clock_file = port, keys, clock_file
        self.episodes = episodes
        self.start, self.rate, self.concurrency = start, rate, concurrency
        # wall seconds per simulated second, when paced
        self.scale = (len(episodes) / rate) / (days * 86400) if rate else 0.0
        self.outcome = Outcome()
        self.ids: dict[int, asyncio.Future[str | None]] = {}
        self.clock_at = start  # the simulation time last written
        self.clock_set = time.time()  # wall time it was written
        self.sent_until = start  # the simulation time of the newest request sent

    def timeline(self) -> list[tuple[datetime, int, int]]:
        """(simulation time, 0 report / 1 return, episode index), in the order to send."""
        events = [(e.reported_at, 0, i) for i, e in enumerate(self.episodes)]
        events += [(e.returned_at, 1, i) for i, e in enumerate(self.episodes) if e.returned_at is not None]
        return sorted(events)

    def sim_now(self) -> datetime:
        """The simulation time the services see now (the file's instant plus the wall time since)."""
        return self.clock_at + timedelta(seconds=time.time() - self.clock_set)

    def move_clock(self, to: datetime) -> None:
        """Jump the shared clock forward to `to` (never back)."""
        if to > self.sim_now():
            FileClock.set(self.clock_file, to)
            self.clock_at, self.clock_set = to, time.time()

    async def run(self) -> Outcome:
        """Send everything, wait for every answer, return what was seen."""
        conns: asyncio.Queue[loadgen.Connection] = asyncio.Queue()
        for _ in range(self.concurrency):
            conns.put_nowait(await BodyConnection.open("127.0.0.1", self.port))
        slots = asyncio.Semaphore(self.concurrency)
        FileClock.set(self.clock_file, self.start)
        self.clock_at, self.clock_set = self.start, time.time()
        self.outcome.started = time.time()
        ticker = asyncio.create_task(self._tick()) if self.rate else None
        tasks: set[asyncio.Task[None]] = set()
        try:
            for when, kind, index in self.timeline():
                due = self.outcome.started + (when - self.start).total_seconds() * self.scale
                if self.rate and (delay := due - time.time()) > 0:
                    await asyncio.sleep(delay)
                if when > self.sim_now():
                    self.move_clock(when if self.rate else when + LEAD)
                await slots.acquire()
                self.sent_until = when
                task = asyncio.create_task(self._send(conns, kind, index, due if self.rate else time.time()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _t: slots.release())
            while tasks:
                await asyncio.gather(*tasks)
        finally:
            if ticker is not None:
                ticker.cancel()
            while not conns.empty():
                conns.get_nowait().abort()
        self.outcome.finished = time.time()
        self.outcome.sim_reached = self.sim_now()
        return self.outcome

    async def _tick(self) -> None:
        while True:
            paced = self.start + timedelta(seconds=(time.time() - self.outcome.started) / self.scale)
            # A system that falls behind holds the year back: deadlines must not run ahead of what was sent.
            self.move_clock(min(paced, self.sent_until + LEAD))
            await asyncio.sleep(TICK)

    def _id_of(self, index: int) -> asyncio.Future[str | None]:
        return self.ids.setdefault(index, asyncio.get_running_loop().create_future())

    async def _send(self, conns: asyncio.Queue[loadgen.Connection], kind: int, index: int, due: float) -> None:
        episode = self.episodes[index]
        if kind == 1:
            episode_id = await self._id_of(index)  # the report may still be in flight
            if episode_id is None:
                return
            path, body = f"/v1/episodes/{episode_id}/return", episode.return_body()
        else:
            path, body = "/v1/episodes", episode.report
        conn = await conns.get()
        try:
            if conn.closed:  # the server closed an idle keep-alive connection
                conn = await BodyConnection.open("127.0.0.1", self.port)
            status, answer = await self._post(conn, path, body, self.keys[episode.force], due)
        finally:
            conns.put_nowait(conn)
        if kind == 0:
            episode_id = json.loads(answer)["id"] if status == 202 else None
            self._id_of(index).set_result(episode_id)
            if episode_id is not None:
                self.outcome.report_sent[episode_id] = due
        elif status == 202 and episode_id is not None:
            self.outcome.return_sent[episode_id] = due

    async def _post(
        self, conn: loadgen.Connection, path: str, body: dict[str, Any], key: str, due: float
    ) -> tuple[int, bytes]:
        raw = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(raw)}\r\n\r\n"
        ).encode()
        try:
            status, answer = await conn.request(head + raw)
        except (OSError, ConnectionError) as exc:
            status, answer = 0, repr(exc).encode()
        self.outcome.answer_ms.append((time.time() - due) * 1000)
        name = str(status)
        self.outcome.statuses[name] = self.outcome.statuses.get(name, 0) + 1
        if status != 202 and len(self.outcome.samples) < 5:
            self.outcome.samples.append(f"{status} {path} {answer[:300].decode(errors='replace')}")
        return status, answer
