"""A small HTTP/1.1 load generator: keep-alive connections, pre-built requests, closed and open loop.

Why pure Python and not wrk: every request must carry a distinct report, the same generator must
drive the baseline and the intake, and the run must need nothing beyond the venv. httpx would cost
several hundred µs of CPU per request and steal much of a core from the server; this generator
writes pre-built bytes (only the 9-digit reference changes) on raw uvloop transports and parses
just the status line and Content-Length.

Its overhead, measured on the 2-core dev VM: ~100 µs of CPU per request, i.e. ~23 % of one core
while the bare baseline runs at ~2,400 req/s with its uvicorn worker pinned at ~98 % of the other
core. Cross-checked against wrk (C, with a Lua script making each body unique) in the same
conditions: 2,355 vs 2,341 req/s and 2,378 vs 2,181 req/s, same p50 — the server, not the
generator, is the limit. Its own CPU is printed for every case (`gen cpu`) so this stays visible;
at the intake's rates it is 1-3 %.

Open loop: requests fall due at fixed times (rate per second) whatever the server does, and latency
runs from the time a request was *due*, not from when it was written, so a stalled or saturated
server (or a late generator) shows in the percentiles (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast

MakeRequest = Callable[[], bytes]
MAX_SAMPLES = 5  # error responses kept verbatim for the report
STALL_TIMEOUT = 30.0  # no answer at all for this long: the connections are dropped (transport errors)


class Closed(ConnectionError):
    """The connection closed before the whole response arrived."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    keep_body = False  # bodies of 2xx answers are dropped unless a subclass keeps them

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._head_end = -1
        self._status = 0
        self._expected = -1

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect to host:port."""
        _, protocol = await asyncio.get_running_loop().create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """asyncio callback."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def connection_lost(self, exc: Exception | None) -> None:
        """asyncio callback: fail the request in flight, if any."""
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(Closed(f"connection closed mid-response: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        """asyncio callback: complete the request in flight once its whole body is here."""
        buf = self._buf
        buf += data
        if self._expected < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            self._status = int(head[9:12])
            start = head.find(b"\r\ncontent-length:")
            if start < 0:  # every answer from these apps has a length; anything else is a protocol error
                self._fail(Closed("response without Content-Length"))
                return
            stop = head.find(b"\r\n", start + 2)
            length = int(head[start + 17 : stop if stop > 0 else len(head)])
            self._head_end, self._expected = end + 4, end + 4 + length
        if len(buf) < self._expected:
            return
        body = bytes(buf[self._head_end : self._expected]) if self._status >= 300 or self.keep_body else b""
        del buf[: self._expected]
        self._expected = -1
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, body))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body); the body is kept only for errors."""
        if self.closed or self.transport is None:
            raise Closed("connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter


@dataclass
class Stats:
    """What one load phase observed."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful (2xx) requests only
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    reconnects: int = 0
    samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    max_send_lag: float = 0.0  # open loop: how late the generator itself wrote a due request

    @property
    def ok(self) -> int:
        """Requests answered 2xx."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        """Non-2xx answers plus transport errors."""
        return sum(self.statuses.values()) - self.ok + self.transport_errors

    @property
    def done(self) -> int:
        """Requests finished either way."""
        return sum(self.statuses.values()) + self.transport_errors

    def record(self, status: int, latency: float, body: bytes) -> None:
        """Count one answer."""
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.latencies.append(latency)
        elif len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"{status} {body[:300].decode(errors='replace')}")

    def failed(self, exc: BaseException) -> None:
        """Count one transport error."""
        self.transport_errors += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"transport error: {exc!r}")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Pool:
    """Keep-alive connections to one server; a connection the server closed is reopened on next use."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conns: list[Connection] = []

    async def open(self, count: int) -> list[Connection]:
        """Open `count` connections."""
        self.conns = [await Connection.open(self.host, self.port) for _ in range(count)]
        return self.conns

    async def usable(self, conn: Connection, stats: Stats) -> Connection:
        """`conn`, or a fresh connection if the server closed it (an idle keep-alive timeout)."""
        if not conn.closed:
            return conn
        stats.reconnects += 1
        fresh = await Connection.open(self.host, self.port)
        self.conns.append(fresh)
        return fresh

    def close(self) -> None:
        """Drop every connection."""
        for conn in self.conns:
            conn.abort()


@contextlib.asynccontextmanager
async def _watchdog(pool: Pool, stats: Stats) -> AsyncIterator[None]:
    """Drop every connection if nothing at all is answered for STALL_TIMEOUT (a hung server).

    A merely saturated server keeps answering, so an overloaded open loop runs until its backlog
    is served (its latencies show the queueing) instead of being cut off.
    """

    async def guard() -> None:
        last = -1
        while True:
            await asyncio.sleep(STALL_TIMEOUT)
            if stats.done == last:
                pool.close()
            last = stats.done

    task = asyncio.create_task(guard())
    try:
        yield
    finally:
        task.cancel()


async def closed_loop(host: str, port: int, make: MakeRequest, *, concurrency: int, duration: float) -> Stats:
    """`concurrency` connections, each sending its next request as soon as the previous one is answered."""
    stats, pool = Stats(), Pool(host, port)
    await pool.open(concurrency)
    start = time.perf_counter()
    deadline = start + duration

    async def worker(conn: Connection) -> None:
        while (sent := time.perf_counter()) < deadline:
            try:
                conn = await pool.usable(conn, stats)
                status, body = await conn.request(make())
            except (OSError, ConnectionError) as exc:
                stats.failed(exc)
                continue
            stats.record(status, time.perf_counter() - sent, body)

    try:
        async with _watchdog(pool, stats):
            await asyncio.gather(*(worker(c) for c in pool.conns))
        stats.elapsed = time.perf_counter() - start
    finally:
        pool.close()
    return stats


async def open_loop(
    host: str, port: int, make: MakeRequest, *, rate: float, duration: float, connections: int
) -> Stats:
    """Requests due every 1/rate s for `duration`, each on an idle connection or queued until one frees."""
    stats, pool = Stats(), Pool(host, port)
    idle: deque[Connection] = deque(await pool.open(connections))  # FIFO: every connection stays warm
    backlog: deque[float] = deque()
    running: set[asyncio.Task[None]] = set()
    total = int(rate * duration)
    start = time.perf_counter() + 0.01

    async def run(conn: Connection, due: float) -> None:
        while True:
            try:
                conn = await pool.usable(conn, stats)
                status, body = await conn.request(make())
            except (OSError, ConnectionError) as exc:
                stats.failed(exc)
            else:
                stats.record(status, time.perf_counter() - due, body)
            if not backlog:
                idle.append(conn)
                return
            due = backlog.popleft()

    def dispatch(due: float) -> None:
        if not idle:
            backlog.append(due)
            return
        task = asyncio.create_task(run(idle.popleft(), due))
        running.add(task)
        task.add_done_callback(running.discard)

    try:
        async with _watchdog(pool, stats):
            for i in range(total):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                stats.max_send_lag = max(stats.max_send_lag, time.perf_counter() - due)
                dispatch(due)
            while running:
                await asyncio.gather(*running)
        stats.elapsed = time.perf_counter() - start
    finally:
        pool.close()
    return stats
