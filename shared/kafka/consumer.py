"""The consumer loop: at-least-once delivery, exactly-once effect through the inbox.

Per fetched batch of a partition: decode; run the handlers and record the event ids in the
inbox in one database transaction (if anything fails, each record again in its own); only
after that has committed, commit the Kafka offsets.
Undecodable records and records that keep failing go to the topic's dead-letter
topic with the reason. Any broker trouble restarts the loop from the last commit.

Offsets are committed with the broker's cluster id as metadata. A broker that comes back
empty (devstack's tansu) reports a new id: the loop restarts, and on assignment any offset
committed under another cluster, or past the end of the log, is ignored and the partition is
read from the beginning (the inbox makes rereading safe); so is every partition when the loop
restarts under a new cluster id. Without this a consumer would skip the first records of the
new log, which its old offsets point past.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.config import KafkaConfig
from shared.errors import PermanentError, is_transient
from shared.events.codec import Decoded, DecodeError, decode
from shared.inbox import record_new
from shared.kafka.client import CLUSTER_CHECK_S, ProducerHolder, current_cluster
from shared.kafka.dead_letter import retrieve, send_dead_letter
from shared.kafka.rewind import Rewinder
from shared.logging import bound_to, event_ids
from shared.metrics import CONSUMED, CONSUMER_LAG

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, Decoded], Awaitable[None]]
# Loads, in a few queries, the rows a batch's fresh events will touch, before their handlers run.
Prefetch = Callable[[AsyncSession, Sequence[Decoded]], Awaitable[None]]
Item = tuple[ConsumerRecord[bytes, bytes], Decoded, Handler]
Batch = Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
MAX_BACKOFF_S = 5.0
GETMANY_LIMIT_S = 2.0
LAG_CHECK_LIMIT_S = 2.0
STOP_LIMIT_S = 10.0
STAT_OF = {"processed": "processed", "duplicate": "duplicates", "dead_lettered": "dead_lettered", "ignored": "ignored"}


class BrokerChanged(KafkaError):  # type: ignore[misc]
    """The broker reports another cluster id: it lost its log, so consuming starts over from what it has."""


@dataclass
class ConsumerStats:
    """Counters a test or a metrics endpoint can read."""

    processed: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    restarts: int = 0


class ConsumerLoop:
    """Consumes topics for one service with manual offset commits, an inbox and dead letters."""

    def __init__(
        self,
        *,
        service: str,
        topics: list[str],
        handlers: Mapping[str, Handler],
        sessions: async_sessionmaker[AsyncSession],
        config: KafkaConfig,
        producer: ProducerHolder,
        clock: Clock,
        max_attempts: int = 3,
        after_commit: Callable[[], None] = lambda: None,
        prefetch: Prefetch | None = None,
        autoflush: bool = True,
    ) -> None:
        self._service = service
        self._topics = [config.topic_prefix + t for t in topics]
        self._handlers = handlers
        self._sessions = sessions
        self._config = config
        self._producer = producer
        self._clock = clock
        self._max_attempts = max_attempts
        self._after_commit = after_commit
        self._prefetch = prefetch
        self._autoflush = autoflush
        self._stopping = asyncio.Event()
        self._abandoned: set[asyncio.Task[None]] = set()
        self._cluster: str | None = None  # the broker's cluster id when the last consumer started
        self._rewind_all = False  # the cluster changed, and no consumer has read its new log from the start yet
        self.stats = ConsumerStats()

    def stop(self) -> None:
        """Finish the current record, leave the group and return from run()."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; restart from the last committed offset after broker errors."""
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                try:
                    await self._consume()
                    backoff = 0.2
                except (KafkaError, OSError, TimeoutError) as exc:
                    self.stats.restarts += 1
                    log.warning("consumer.restart", service=self._service, error=repr(exc), retry_in=backoff)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            for task in self._abandoned:
                task.cancel()

    async def _consume(self) -> None:
        cluster = await current_cluster(self._config)
        self._rewind_all = self._rewind_all or self._cluster not in (None, cluster)
        self._cluster = cluster
        consumer = self._new_consumer()
        rewinder = Rewinder(consumer, self._config, self._service, new_cluster=self._rewind_all)
        consumer.subscribe(self._topics, listener=rewinder)
        await consumer.start()
        log.info("consumer.started", service=self._service, topics=self._topics, cluster_id=cluster)
        try:
            await self._consume_from(consumer, rewinder, cluster)
        finally:
            await self._stop(consumer)

    async def _stop(self, consumer: AIOKafkaConsumer) -> None:
        # aiokafka's stop can wait without end on a fetcher retrying a broker that changed under it;
        # a consumer that will not stop in time is left to finish on its own, and the loop goes on.
        stopping = asyncio.create_task(consumer.stop(), name="consumer-stop")
        done, _ = await asyncio.wait({stopping}, timeout=STOP_LIMIT_S)
        if not done:
            log.warning("consumer.stop_abandoned", service=self._service, after_s=STOP_LIMIT_S)
            self._abandoned.add(stopping)
            stopping.add_done_callback(retrieve)
            stopping.add_done_callback(self._abandoned.discard)

    async def _consume_from(self, consumer: AIOKafkaConsumer, rewinder: Rewinder, cluster: str) -> None:
        check_at = time.monotonic() + CLUSTER_CHECK_S
        while not self._stopping.is_set():
            try:
                # getmany waits without limit for a rebalance to finish, which a broker away mid-rejoin can
                # prevent; give up on it in time to run the cluster check below.
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=200, max_records=500), GETMANY_LIMIT_S)
            except TimeoutError:
                batch = {}
            rewinder.raise_if_failed()
            if rewinder.ready:
                self._rewind_all = rewinder.new_cluster
                await self._process_and_commit(consumer, batch, cluster)
            else:  # fetched from commits still being checked: fetch them again after
                hold_back(consumer, batch)
            if time.monotonic() >= check_at:
                await self._check_cluster(cluster)
                await measure_lag(consumer, self._service)
                check_at = time.monotonic() + CLUSTER_CHECK_S

    async def _process_and_commit(self, consumer: AIOKafkaConsumer, batch: Batch, cluster: str) -> None:
        for tp, records in batch.items():
            if self._stopping.is_set():
                return
            await self.process_batch(records)
            await self._commit(consumer, {tp: (records[-1].offset + 1, cluster)})
            self._record_lag(consumer, tp, records[-1].offset + 1)

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(max(highwater - next_offset, 0))

    async def _check_cluster(self, cluster: str) -> None:
        """Raise BrokerChanged if the broker now reports another cluster; say nothing while it is unreachable."""
        try:
            current = await current_cluster(self._config)
        except (KafkaError, OSError, TimeoutError):
            return  # the consumer rides out the outage itself; stopping it now could hang on the dead coordinator
        if current != cluster:
            raise BrokerChanged(f"broker cluster changed from {cluster} to {current}")

    def _new_consumer(self) -> AIOKafkaConsumer:
        c = self._config
        return AIOKafkaConsumer(
            bootstrap_servers=c.bootstrap_servers,
            group_id=self._service,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=c.fetch_max_wait_ms,
            session_timeout_ms=c.session_timeout_ms,
            heartbeat_interval_ms=c.heartbeat_interval_ms,
            request_timeout_ms=c.request_timeout_ms,
        )

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, tuple[int, str]]) -> None:
        # aiokafka retries some commit errors forever (e.g. a broker that lost the topic); bound it and restart.
        await asyncio.wait_for(consumer.commit(offsets), timeout=self._config.request_timeout_ms / 1000)

    async def process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle a partition's records in one transaction; if anything in it fails, handle them one by one."""
        items = [item for record in records if (item := await self._prepare(record)) is not None]
        if not items:
            return
        try:
            await self._transaction(items)
        except Exception as exc:  # isolate: the per-record path retries, or dead-letters only the bad one
            log.info("consumer.isolating", service=self._service, size=len(items), error=type(exc).__name__)
            for item in items:
                await self._handle(item)

    async def _prepare(self, record: ConsumerRecord[bytes, bytes]) -> Item | None:
        """Decode a record and find its handler; dead-letter what cannot be decoded, skip unknown types."""
        try:
            decoded = decode(record.value)
        except DecodeError as exc:
            await self._dead_letter(record, str(exc))
            return None
        handler = self._handlers.get(decoded.event.type)
        if handler is None:
            self._note("ignored", record.topic)
            return None
        return record, decoded, handler

    async def _transaction(self, items: list[Item]) -> None:
        """Run the handlers of the items' new events and record them in the inbox, in one transaction."""
        events = [decoded.event for _, decoded, _ in items]
        outcomes: list[tuple[Decoded, str]] = []
        async with self._sessions() as session, session.begin():
            fresh = await record_new(session, service=self._service, events=events, now=self._clock.now())
            todo: list[tuple[Decoded, Handler]] = []
            for _, decoded, handler in items:
                if decoded.event.id in fresh:
                    fresh.discard(decoded.event.id)  # an event twice in the batch runs once
                    todo.append((decoded, handler))
                    outcomes.append((decoded, "processed"))
                else:
                    outcomes.append((decoded, "duplicate"))
            if self._prefetch is not None and todo:
                await self._prefetch(session, [decoded for decoded, _ in todo])
            with contextlib.nullcontext() if self._autoflush else session.no_autoflush:
                for decoded, handler in todo:
                    with bound_to(decoded):
                        await handler(session, decoded)
        topic = items[0][0].topic
        for decoded, outcome in outcomes:
            self._note(outcome, topic)
            log.info("event.handled", outcome=outcome, **event_ids(decoded))
        if todo:
            self._after_commit()

    async def _handle(self, item: Item) -> None:
        """One record in its own transaction: retried while the trouble is transient, else dead-lettered."""
        record, decoded, _ = item
        failures = 0
        delay = 0.1
        while True:
            try:
                await self._transaction([item])
                return
            except PermanentError as exc:
                await self._dead_letter(record, f"permanent error: {exc.detail}")
                return
            except Exception as exc:
                if is_transient(exc):
                    log.warning("consumer.retrying", service=self._service, event_id=decoded.event.id, error=repr(exc))
                else:
                    failures += 1
                    log.exception("consumer.handler_failed", service=self._service, event_id=decoded.event.id)
                    if failures >= self._max_attempts:
                        # Only the exception type: a repr could quote SQL parameters, i.e. child details.
                        await self._dead_letter(record, f"handler failed {failures} times: {type(exc).__name__}")
                        return
            if self._stopping.is_set():
                raise asyncio.CancelledError("stopping during retry")
            await self._pause(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    def _note(self, outcome: str, topic: str) -> None:
        field = STAT_OF[outcome]
        setattr(self.stats, field, getattr(self.stats, field) + 1)
        CONSUMED.labels(self._service, topic, outcome).inc()

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        await send_dead_letter(self._producer, record, service=self._service, reason=reason)
        self._note("dead_lettered", record.topic)
        log.warning(
            "consumer.dead_lettered", service=self._service, topic=record.topic, offset=record.offset, reason=reason
        )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def hold_back(consumer: AIOKafkaConsumer, batch: Batch) -> None:
    """Move the fetch position of each still-assigned partition back to the first record of its batch."""
    assigned = consumer.assignment()
    for tp, records in batch.items():
        if tp in assigned:
            consumer.seek(tp, records[0].offset)


async def measure_lag(consumer: AIOKafkaConsumer, service: str) -> None:
    """Set the lag gauge of every assigned partition from the log end, those that return nothing included.

    The gauge is also set after each batch; this keeps it honest for a partition the broker stops
    serving, whose lag would otherwise freeze at its last value while the log grows.
    """
    assigned = list(consumer.assignment())
    try:
        ends = await asyncio.wait_for(consumer.end_offsets(assigned), timeout=LAG_CHECK_LIMIT_S)
        for tp in assigned:
            position = await asyncio.wait_for(consumer.position(tp), timeout=LAG_CHECK_LIMIT_S)
            end = max(ends[tp], consumer.highwater(tp) or 0)  # tansu's log end trails by its last batch's size
            CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(max(end - position, 0))
    except (KafkaError, OSError, TimeoutError):
        return  # the broker is away or the group is rebalancing: the next check tries again
