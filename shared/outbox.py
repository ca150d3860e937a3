"""Transactional outbox: events are rows written with the state change, then relayed to Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    CursorResult,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import Clock
from shared.db import Base, UTCDateTime
from shared.events.codec import HEADERS, encode, to_event
from shared.events.envelope import CloudEvent
from shared.events.payloads.base import Payload
from shared.events.registry import topic_for
from shared.kafka.client import ProducerHolder
from shared.metrics import PUBLISHED
from shared.sweeps import Sweep

log = structlog.get_logger(__name__)

RELAY_BATCH = 500
PRUNE_BATCH = 1000
MAX_BACKOFF_S = 5.0


class OutboxMessage(Base):
    """An event waiting to be (or already) published by its service's relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "service", "published_at", "id"),  # recent rows, to republish (adopt_cluster)
        # What the relay polls: small however long the table grows. Without it PostgreSQL walked the primary
        # key past every published row (2 s a poll at 900,000 rows in the national-year run).
        Index(
            "ix_outbox_unpublished",
            "service",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class KafkaCluster(Base):
    """The broker cluster a service's relay last published to (see OutboxRelay: a new one means lost events)."""

    __tablename__ = "kafka_clusters"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


def add_event(session: AsyncSession, *, service: str, event: CloudEvent, key: str, clock: Clock) -> None:
    """Stage an event in the caller's transaction; the caller commits."""
    session.add(
        OutboxMessage(
            service=service,
            event_id=event.id,
            event_type=event.type,
            topic=topic_for(event.type),
            key=key,
            value=encode(event),
            created_at=clock.now(),
        )
    )


def emit(
    session: AsyncSession,
    payload: Payload,
    *,
    service: str,
    key: str,
    clock: Clock,
    correlationid: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Wrap a payload in a new envelope about `key` (its subject and Kafka key) and stage it; the caller commits."""
    at = clock.now() if time is None else time
    event = to_event(payload, source=service, time=at, subject=key, correlationid=correlationid)
    add_event(session, service=service, event=event, key=key, clock=clock)
    return event


async def adopt_cluster(
    session: AsyncSession, *, service: str, cluster_id: str, now: datetime, window: timedelta
) -> int:
    """Record the cluster a service publishes to; if it changed, mark the events sent within `window` pending.

    A broker that comes back with another cluster id has lost its log (devstack's tansu keeps it in
    memory), including events it acknowledged that nobody had consumed yet. Sending them again is
    safe: consumers apply each event once (inbox). Apache Kafka keeps its id, so this never fires there.
    """
    known = await session.get(KafkaCluster, service)
    if known is None:
        session.add(KafkaCluster(service=service, cluster_id=cluster_id, seen_at=now))
        return 0
    if known.cluster_id == cluster_id:
        return 0
    known.cluster_id, known.seen_at = cluster_id, now
    again = (
        update(OutboxMessage)
        .where(OutboxMessage.service == service, OutboxMessage.published_at >= now - window)
        .values(published_at=None)
    )
    result: CursorResult[Any] = await session.execute(again)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def pending(service: str) -> Select[OutboxMessage]:
    """The relay's poll: a service's oldest unpublished rows, in order (served by ix_outbox_unpublished)."""
    return (
        select(OutboxMessage)
        .where(OutboxMessage.service == service, OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(RELAY_BATCH)
    )


def prune(service: str, *, retention: timedelta, every: timedelta) -> Sweep:
    """A sweep deleting a service's rows published more than `retention` ago: no republish reaches back that far."""

    async def work(session: AsyncSession, now: datetime) -> int:
        old = select(OutboxMessage.id).where(
            OutboxMessage.service == service, OutboxMessage.published_at < now - retention
        )
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            delete(OutboxMessage).where(OutboxMessage.id.in_(old.limit(PRUNE_BATCH).scalar_subquery()))
        )
        return int(result.rowcount or 0)

    return Sweep(name="outbox.prune", every=every, work=work, batch=PRUNE_BATCH)


class OutboxRelay:
    """Publishes a service's pending outbox rows in order; retries while the broker is down.

    On SQLite no transaction is held while waiting on the broker (it would lock every writer);
    on PostgreSQL the rows stay locked (SKIP LOCKED) while they are sent, so relays can run side by side.
    Before publishing to a broker it has not seen, it adopts the broker's cluster (adopt_cluster).
    """

    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        producer: ProducerHolder,
        readers: async_sessionmaker[AsyncSession] | None = None,
        topic_prefix: str,
        clock: Clock,
        poll_interval: float,
        claim_with_lock: bool,
        republish_window: timedelta = timedelta(hours=1),
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._readers = readers or sessions
        self._producer = producer
        self._prefix = topic_prefix
        self._clock = clock
        self._poll = poll_interval
        self._lock = claim_with_lock
        self._republish_window = republish_window
        self._cluster: str | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Tell the relay new rows were committed, so it need not wait for the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Ask the run loop to finish after the current batch."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker (or the database) is unavailable."""
        backoff = 0.1
        while not self._stopping:
            try:
                published = await self.publish_batch()
                backoff = 0.1
            except Exception as exc:  # the relay must outlive any outage; rows stay pending
                log.warning("outbox.publish_failed", service=self._service, error=repr(exc), retry_in=backoff)
                await self._producer.reset()
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if published < RELAY_BATCH:
                await self._sleep(self._poll)

    async def publish_batch(self) -> int:
        """Publish one batch of pending rows and mark them published; return how many."""
        await self._follow_cluster()
        if self._lock:
            return await self._publish_locked()
        async with self._readers() as session:
            rows = list((await session.scalars(pending(self._service))).all())
        if rows:
            await self._send(rows)
            async with self._sessions() as session, session.begin():
                await self._mark(session, rows)
        return len(rows)

    async def _publish_locked(self) -> int:
        # PostgreSQL: row locks held while sending let several relays share the table.
        async with self._sessions() as session, session.begin():
            rows = list((await session.scalars(pending(self._service).with_for_update(skip_locked=True))).all())
            if rows:
                await self._send(rows)
                await self._mark(session, rows)
        return len(rows)

    async def _follow_cluster(self) -> None:
        await self._producer.follow_cluster()
        await self._producer.get()
        cluster = self._producer.cluster_id
        if cluster is None or cluster == self._cluster:
            return
        async with self._sessions() as session, session.begin():
            now, window = self._clock.now(), self._republish_window
            again = await adopt_cluster(session, service=self._service, cluster_id=cluster, now=now, window=window)
        if again:
            log.warning("outbox.broker_lost_events", service=self._service, cluster_id=cluster, republishing=again)
        self._cluster = cluster

    async def _send(self, rows: list[OutboxMessage]) -> None:
        producer = await self._producer.get()
        futures = [
            await producer.send(self._prefix + r.topic, r.value, key=r.key.encode(), headers=HEADERS) for r in rows
        ]
        await asyncio.gather(*futures)
        PUBLISHED.labels(self._service).inc(len(rows))
        log.debug("outbox.published", service=self._service, count=len(rows))

    async def _mark(self, session: AsyncSession, rows: list[OutboxMessage]) -> None:
        ids = [r.id for r in rows]
        stmt = update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=self._clock.now())
        await session.execute(stmt)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()
