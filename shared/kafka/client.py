"""Producer and admin helpers that survive a broker that comes and goes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.config import KafkaConfig
from shared.events.registry import Topic, dead_letter_topic

log = structlog.get_logger(__name__)
ADMIN_TIMEOUT_S = 10.0
CLUSTER_CHECK_S = 5.0


def new_producer(config: KafkaConfig) -> AIOKafkaProducer:
    """Build (not start) a producer that waits for all in-sync replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        acks="all",
        enable_idempotence=config.enable_idempotence,
        request_timeout_ms=config.request_timeout_ms,
        linger_ms=2,
    )


class ProducerHolder:
    """Starts a producer on first use and throws it away after an error, so the next use reconnects.

    Before each start it creates any missing topic: a broker that lost its state (tansu keeps
    topics in memory) would otherwise auto-create them on first produce with the wrong partitions.
    It also notes the broker's cluster id, which tells the relay whether the broker lost its log.
    """

    def __init__(self, config: KafkaConfig) -> None:
        self._config = config
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.cluster_id: str | None = None  # of the broker the current producer connected to
        self._check_at = 0.0

    async def get(self) -> AIOKafkaProducer:
        """Return a started producer, starting one if needed."""
        async with self._lock:
            if self._producer is None:
                self.cluster_id = await ensure_topics(self._config)
                producer = new_producer(self._config)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def follow_cluster(self) -> None:
        """Every few seconds, ask the broker its cluster id; a new one (a restarted tansu) gets a new producer.

        A producer reconnects to a restarted broker by itself, so without this the holder would go on
        believing in the old cluster: no topics created, no lost events sent again.
        """
        if self._producer is None or time.monotonic() < self._check_at:
            return
        self._check_at = time.monotonic() + CLUSTER_CHECK_S
        try:
            current = await current_cluster(self._config)
        except (KafkaError, OSError, TimeoutError):
            return  # unreachable: sending will fail and reset the producer anyway
        if current != self.cluster_id:
            log.warning("kafka.cluster_changed", previous=self.cluster_id, current=current)
            await self.reset()

    async def reset(self) -> None:
        """Stop and forget the current producer."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("kafka.producer_stop_failed", error=repr(exc))

    async def close(self) -> None:
        """Flush and stop the producer."""
        await self.reset()


def all_topics(prefix: str) -> list[str]:
    """Every deployed topic name, dead-letter topics included."""
    names = [prefix + t for t in Topic.ALL]
    return names + [dead_letter_topic(n) for n in names]


@asynccontextmanager
async def admin_client(config: KafkaConfig) -> AsyncIterator[AIOKafkaAdminClient]:
    """A short-lived admin client: one kept open across a broker restart can hang on its dead connection."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap_servers, request_timeout_ms=config.request_timeout_ms
    )
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()


async def ensure_topics(config: KafkaConfig) -> str:
    """Create the topics (and dead-letter topics) if they do not exist; return the broker's cluster id."""
    async with admin_client(config) as admin:
        existing = set(await admin.list_topics())
        missing = [n for n in all_topics(config.topic_prefix) if n not in existing]
        if missing:
            new = [
                NewTopic(n, num_partitions=config.partitions, replication_factor=config.replication_factor)
                for n in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return await cluster_id(admin)


async def current_cluster(config: KafkaConfig) -> str:
    """The cluster id the broker reports now."""
    async with admin_client(config) as admin:
        return await cluster_id(admin)


async def cluster_id(admin: AIOKafkaAdminClient) -> str:
    """The broker's cluster id: fixed on Apache Kafka; devstack gives tansu a new one per start."""
    described = await asyncio.wait_for(admin.describe_cluster(), timeout=ADMIN_TIMEOUT_S)
    return str(described["cluster_id"])
