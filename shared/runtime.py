"""What every service process runs: database, outbox relay, optional consumer, HTTP app, clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI

from shared.auth import PrincipalCache
from shared.clock import Clock
from shared.config import ServiceSettings
from shared.db import is_sqlite, make_engine, make_session_factory
from shared.health import BrokerProbe, install_health
from shared.http import install_problem_handlers
from shared.kafka.client import ProducerHolder, ensure_topics
from shared.kafka.consumer import ConsumerLoop, Handler, Prefetch
from shared.metrics import HttpMetrics
from shared.outbox import OutboxRelay, prune
from shared.sweeps import Sweep, Sweeper

log = structlog.get_logger(__name__)

Worker = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Consumes:
    """The topics a service consumes and its handler per event type."""

    topics: list[str]
    handlers: Mapping[str, Handler]
    # Optional: load a batch's rows in a few queries first; handlers that write only at commit turn autoflush off.
    prefetch: Prefetch | None = None
    autoflush: bool = True


@dataclass
class Runtime:
    """The shared moving parts of one service process, started and stopped in order."""

    service: str
    settings: ServiceSettings
    clock: Clock
    consumes: Consumes | None = None
    workers: list[tuple[Worker, Callable[[], None]]] = field(default_factory=list)
    wakers: list[Callable[[], None]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        url = self.settings.database_url
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self.read_engine = make_engine(url, read_only=True) if is_sqlite(url) else self.engine
        self.read_sessions = make_session_factory(self.read_engine)
        self.kafka = self.settings.kafka()
        self.producer = ProducerHolder(self.kafka)
        self.relay = OutboxRelay(
            service=self.service,
            sessions=self.sessions,
            readers=self.read_sessions,
            producer=self.producer,
            topic_prefix=self.kafka.topic_prefix,
            clock=self.clock,
            poll_interval=self.settings.outbox_poll_interval.total_seconds(),
            claim_with_lock=not is_sqlite(self.settings.database_url),
            republish_window=self.settings.outbox_republish_window,
        )
        self.consumer: ConsumerLoop | None = None
        self.sweeper = Sweeper(
            sessions=self.sessions, clock=self.clock, after_commit=self.after_commit, service=self.service
        )
        retention, every = self.settings.outbox_retention, self.settings.outbox_prune_interval
        self.sweeper.add(prune(self.service, retention=retention, every=every))
        self.probe = BrokerProbe(self.kafka, self.service)
        self._stopping = asyncio.Event()
        if self.consumes is not None:
            self.consumer = ConsumerLoop(
                service=self.service,
                topics=self.consumes.topics,
                handlers=self.consumes.handlers,
                sessions=self.sessions,
                config=self.kafka,
                producer=self.producer,
                clock=self.clock,
                after_commit=self.after_commit,
                prefetch=self.consumes.prefetch,
                autoflush=self.consumes.autoflush,
            )

    def add_worker(self, run: Worker, stop: Callable[[], None]) -> None:
        """Run another background loop (e.g. a dispatcher) for the life of the process."""
        self.workers.append((run, stop))

    def add_sweep(self, sweep: Sweep) -> None:
        """Run a deadline sweep on its interval for the life of the process (see shared/sweeps.py)."""
        self.sweeper.add(sweep)

    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every committed transaction (e.g. to dispatch new deliveries at once)."""
        self.wakers.append(wake)

    def add_closer(self, close: Callable[[], Awaitable[None]]) -> None:
        """Close a client at shutdown, after the workers have stopped."""
        self.closers.append(close)

    def after_commit(self) -> None:
        """Wake the relay and every waker: new rows may be waiting."""
        self.relay.wake()
        for wake in self.wakers:
            wake()

    def create_app(self, *, title: str, routers: list[APIRouter], description: str = "") -> FastAPI:
        """Build the FastAPI app whose lifespan runs the background parts."""
        app = FastAPI(title=title, description=description, lifespan=self.lifespan)
        app.state.sessions = self.sessions
        app.state.read_sessions = self.read_sessions
        app.state.settings = self.settings
        app.state.clock = self.clock
        app.state.principals = PrincipalCache(ttl=self.settings.auth_cache_ttl.total_seconds())
        app.state.after_commit = [self.after_commit]
        app.state.runtime = self
        install_problem_handlers(app)
        install_health(app, service=self.service, readers=self.read_sessions, probe=self.probe, clock=self.clock)
        app.add_middleware(HttpMetrics, service=self.service)
        for router in routers:
            app.include_router(router)
        return app

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        """Start relay, consumer and workers; on shutdown stop them in reverse order."""
        tasks = [asyncio.create_task(self.relay.run(), name="relay")]
        tasks.append(asyncio.create_task(self._consume(), name="consumer"))
        tasks.append(asyncio.create_task(self.probe.run(self._stopping), name="broker-probe"))
        tasks += [asyncio.create_task(run(), name="worker") for run, _ in self.workers]
        self.sweeper.start()
        log.info("service.started", service=self.service)
        try:
            yield
        finally:
            await self.shutdown(tasks)

    async def _consume(self) -> None:
        await self._ensure_topics()
        if self.consumer is not None and not self._stopping.is_set():
            await self.consumer.run()

    async def _ensure_topics(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            try:
                await ensure_topics(self.kafka)
                return
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("kafka.topics_unavailable", error=repr(exc), retry_in=delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    delay = min(delay * 2, 5.0)

    async def shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop consuming first, then workers, then the relay; close clients last."""
        self._stopping.set()
        if self.consumer is not None:
            self.consumer.stop()
        await self.sweeper.stop()
        for _, stop in self.workers:
            stop()
        self.relay.stop()
        done, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("service.task_failed", task=task.get_name(), error=repr(task.exception()))
        await self.close()
        log.info("service.stopped", service=self.service)

    async def close(self) -> None:
        """Close clients, the producer and both engines (an app used without its lifespan calls this too)."""
        for close in self.closers:
            await close()
        await self.producer.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
