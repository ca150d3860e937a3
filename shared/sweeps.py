"""Deadline sweeps: deadlines are rows, and APScheduler only runs periodic passes that claim the due ones.

A sweep's work takes the session and "now" and never commits; each pass is one transaction, so a
restart, a missed tick or two replicas change nothing (on PostgreSQL `claim` locks the rows it
takes with SKIP LOCKED; SQLite has one writer at a time). Tests call `Sweeper.run` directly with a
frozen clock instead of waiting for the scheduler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.metrics import SWEEP_SECONDS, SWEEPS, SWEPT

log = structlog.get_logger(__name__)
T = TypeVar("T", bound=tuple[Any, ...])
SweepWork = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class Sweep:
    """A periodic pass: `work` handles up to `batch` rows due at `now` and returns how many it handled."""

    name: str
    every: timedelta
    work: SweepWork
    batch: int = 500


def claim(query: Select[T], session: AsyncSession) -> Select[T]:
    """Lock the rows a pass takes on PostgreSQL, skipping rows another replica holds."""
    if session.get_bind().dialect.name == "sqlite":
        return query
    return query.with_for_update(skip_locked=True)


class Sweeper:
    """Runs a service's sweeps on APScheduler interval triggers, one pass of each sweep at a time."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        after_commit: Callable[[], None],
        sweeps: list[Sweep] | None = None,
        service: str = "",
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._after_commit = after_commit
        self._service = service
        self.sweeps: list[Sweep] = list(sweeps or [])
        self.handled: dict[str, int] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[int]] = set()

    def add(self, sweep: Sweep) -> None:
        """Register a sweep (before start)."""
        self.sweeps.append(sweep)

    async def run(self, sweep: Sweep) -> int:
        """One pass in its own transaction, repeated while passes come back full; returns rows handled."""
        total, started = 0, time.perf_counter()
        while True:
            async with self._sessions() as session, session.begin():
                handled = await sweep.work(session, self._clock.now())
            total += handled
            if handled:
                self._after_commit()
            if handled < sweep.batch:
                break
        self.handled[sweep.name] = self.handled.get(sweep.name, 0) + total
        SWEEPS.labels(self._service, sweep.name).inc()
        SWEPT.labels(self._service, sweep.name).inc(total)
        SWEEP_SECONDS.labels(self._service, sweep.name).observe(time.perf_counter() - started)
        return total

    def start(self) -> None:
        """Schedule every sweep, the first pass at once (call from the running event loop)."""
        if not self.sweeps:
            return
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for sweep in self.sweeps:
            self._scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=sweep.every.total_seconds(), timezone=UTC),
                args=[sweep],
                id=sweep.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=datetime.now(UTC),
            )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and let passes in flight finish (each is one transaction)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._running:
            await asyncio.wait(self._running, timeout=10)

    async def _tick(self, sweep: Sweep) -> None:
        task = asyncio.create_task(self.run(sweep), name=f"sweep:{sweep.name}")
        self._running.add(task)
        try:
            await task
        except Exception:  # the next tick tries again; the rows are still due
            log.exception("sweep.failed", sweep=sweep.name)
        finally:
            self._running.discard(task)
