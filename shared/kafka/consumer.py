"""The consumer loop: at-least-once delivery, exactly-once effect through the inbox.

Per record: decode; run the handler and record the event id in the inbox in one
database transaction; only after a batch has committed, commit the Kafka offsets.
Undecodable records and records that keep failing go to the topic's dead-letter
topic with the reason. Any broker trouble restarts the loop from the last commit.

Offsets are committed with the broker's cluster id as metadata. A broker that comes back
empty (devstack's tansu) reports a new id: the loop restarts, and on assignment any offset
committed under another cluster, or past the end of the log, is ignored and the partition is
read from the beginning (the inbox makes rereading safe). Without this a consumer would skip
the first records of the new log, which its old offsets point past.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.config import KafkaConfig
from shared.errors import PermanentError, TransientError
from shared.events.codec import Decoded, DecodeError, decode
from shared.events.registry import dead_letter_topic
from shared.inbox import first_time
from shared.kafka.client import ADMIN_TIMEOUT_S, ProducerHolder, admin_client, cluster_id, current_cluster

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, Decoded], Awaitable[None]]
MAX_BACKOFF_S = 5.0
CLUSTER_CHECK_S = 5.0


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
        self._stopping = asyncio.Event()
        self.stats = ConsumerStats()

    def stop(self) -> None:
        """Finish the current record, leave the group and return from run()."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; restart from the last committed offset after broker errors."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._consume()
                backoff = 0.2
            except (KafkaError, OSError, TimeoutError) as exc:
                self.stats.restarts += 1
                log.warning("consumer.restart", service=self._service, error=repr(exc), retry_in=backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _consume(self) -> None:
        cluster = await current_cluster(self._config)
        consumer = self._new_consumer()
        await consumer.start()
        log.info("consumer.started", service=self._service, topics=self._topics, cluster_id=cluster)
        try:
            await self._consume_from(consumer, cluster)
        finally:
            await consumer.stop()

    async def _consume_from(self, consumer: AIOKafkaConsumer, cluster: str) -> None:
        check_at = time.monotonic() + CLUSTER_CHECK_S
        while not self._stopping.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batch.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    await self.process(record)
                await self._commit(consumer, {tp: (records[-1].offset + 1, cluster)})
            if time.monotonic() >= check_at:
                await self._check_cluster(cluster)
                check_at = time.monotonic() + CLUSTER_CHECK_S

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
        consumer = AIOKafkaConsumer(
            bootstrap_servers=c.bootstrap_servers,
            group_id=self._service,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=c.fetch_max_wait_ms,
            session_timeout_ms=c.session_timeout_ms,
            heartbeat_interval_ms=c.heartbeat_interval_ms,
            request_timeout_ms=c.request_timeout_ms,
        )
        consumer.subscribe(self._topics, listener=Rewinder(consumer, self._config, self._service))
        return consumer

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, tuple[int, str]]) -> None:
        # aiokafka retries some commit errors forever (e.g. a broker that lost the topic); bound it and restart.
        await asyncio.wait_for(consumer.commit(offsets), timeout=self._config.request_timeout_ms / 1000)

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handle one record exactly once in effect, or dead-letter it."""
        try:
            decoded = decode(record.value)
        except DecodeError as exc:
            await self._dead_letter(record, str(exc))
            return
        handler = self._handlers.get(decoded.event.type)
        if handler is None:
            self.stats.ignored += 1
            return
        await self._handle(record, decoded, handler)

    async def _handle(self, record: ConsumerRecord[bytes, bytes], decoded: Decoded, handler: Handler) -> None:
        failures = 0
        delay = 0.1
        while True:
            try:
                await self._transaction(decoded, handler)
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

    async def _transaction(self, decoded: Decoded, handler: Handler) -> None:
        event = decoded.event
        async with self._sessions() as session, session.begin():
            fresh = await first_time(
                session, service=self._service, event_id=event.id, event_type=event.type, now=self._clock.now()
            )
            if not fresh:
                self.stats.duplicates += 1
                return
            await handler(session, decoded)
        self.stats.processed += 1
        self._after_commit()

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        headers = [
            *list(record.headers or ()),
            ("dlt-reason", reason.encode()[:2000]),
            ("dlt-service", self._service.encode()),
            ("dlt-topic", record.topic.encode()),
            ("dlt-partition", str(record.partition).encode()),
            ("dlt-offset", str(record.offset).encode()),
        ]
        producer = await self._producer.get()
        await producer.send_and_wait(dead_letter_topic(record.topic), record.value, key=record.key, headers=headers)
        self.stats.dead_lettered += 1
        log.warning(
            "consumer.dead_lettered", service=self._service, topic=record.topic, offset=record.offset, reason=reason
        )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


class Rewinder(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, read from the beginning any partition whose committed offset the broker cannot vouch for.

    That is an offset committed under another cluster id (the broker restarted empty since), or one
    past the end of the log (a retried commit that landed on the empty broker). Otherwise the group
    resumes from its commit as usual.
    """

    def __init__(self, consumer: AIOKafkaConsumer, config: KafkaConfig, group: str) -> None:
        self._consumer = consumer
        self._config = config
        self._group = group

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to do: offsets are committed after each batch."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Rewind the partitions whose committed offsets belong to a log the broker no longer has."""
        if not assigned:
            return
        partitions = list(assigned)
        async with admin_client(self._config) as admin:
            current = await cluster_id(admin)
            lookup = admin.list_consumer_group_offsets(self._group, partitions=partitions)
            committed = await asyncio.wait_for(lookup, timeout=ADMIN_TIMEOUT_S)
        ends = await self._consumer.end_offsets(partitions)
        for tp in partitions:
            mark = committed.get(tp)
            if mark is None or mark.offset < 0:
                continue
            other_cluster = mark.metadata not in ("", None, current)
            if other_cluster or mark.offset > ends[tp]:
                log.warning(
                    "consumer.rewind",
                    service=self._group,
                    topic=tp.topic,
                    partition=tp.partition,
                    committed=mark.offset,
                    log_end=ends[tp],
                    committed_cluster=mark.metadata,
                    cluster_id=current,
                )
                await self._consumer.seek_to_beginning(tp)


def is_transient(exc: BaseException) -> bool:
    """Tell whether retrying later may succeed (database or network trouble)."""
    if isinstance(exc, TransientError | OperationalError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
