"""A broker that restarts empty (tansu keeps everything in memory) must not make a consumer skip records.

The consumer's fetch position (and any offset it commits late) belongs to the old log; on the new,
shorter log the same offsets point past records nobody has read. The relay republishes what it sent
recently, and consumers rewind, so every event still takes effect once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.broker import Broker
from shared.clock import FrozenClock
from shared.config import KafkaConfig
from shared.db import is_sqlite
from shared.events.codec import Decoded, encode, to_event
from shared.events.payloads.episode import EpisodeReturned
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import ConsumerLoop, Handler
from shared.outbox import OutboxMessage, OutboxRelay, add_event
from tests.conftest import Producers
from tests.support import commit_as, eventually, produce, produce_many

pytestmark = [pytest.mark.kafka]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLOCK = FrozenClock(NOW)


@pytest.fixture
async def own_broker(kafka: KafkaConfig) -> AsyncIterator[tuple[Broker, KafkaConfig]]:
    """A broker of this test's own, which the test restarts."""
    broker = Broker().start()
    try:
        yield broker, replace(kafka, bootstrap_servers=broker.bootstrap, request_timeout_ms=3000)
    finally:
        broker.stop()


def returned(n: int) -> bytes:
    payload = EpisodeReturned(episode_id=f"ep-{n}", force="f", police_reference=f"r{n}", returned_at=NOW)
    return encode(to_event(payload, source="test", time=NOW))


def recorder(seen: list[str]) -> dict[str, Handler]:
    async def on_returned(_session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReturned)
        seen.append(decoded.payload.episode_id)

    return {"episode.returned": on_returned}


async def test_a_consumer_reads_every_record_of_a_broker_that_restarted_empty(
    own_broker: tuple[Broker, KafkaConfig], sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    broker, config = own_broker
    topic = config.topic_prefix + Topic.EPISODES
    await ensure_topics(config)
    seen: list[str] = []
    loop = ConsumerLoop(
        service="test_service",
        topics=[Topic.EPISODES],
        handlers=recorder(seen),
        sessions=sessions,
        config=config,
        producer=producers(config),
        clock=CLOCK,
    )
    task = asyncio.create_task(loop.run())
    try:
        for n in range(5):
            await produce(config.bootstrap_servers, topic, returned(n), b"one-key")
        await eventually(lambda: _at_least(seen, 5), timeout=30)

        broker.stop()
        await asyncio.sleep(5)  # longer than the session timeout, as in a real outage
        broker.start()  # same port, empty log, a new cluster id
        await ensure_topics(config)
        # More records than the consumer had read, at once: its old position now points into them.
        await produce_many(config.bootstrap_servers, topic, [returned(n) for n in range(5, 13)], b"one-key")
        # What the old consumer commits if it reads 5..7 of the new log before it notices the new cluster:
        # the log holds offset 7, and tansu drops the commit's cluster id, so nothing else betrays it.
        await commit_as(config.bootstrap_servers, "test_service", TopicPartition(topic, 0), 8)
        await eventually(lambda: _at_least(seen, 13), timeout=60)
    finally:
        loop.stop()
        await asyncio.wait_for(task, timeout=15)
    assert sorted(set(seen), key=lambda e: int(e.split("-")[1])) == [f"ep-{n}" for n in range(13)]


async def test_the_relay_republishes_recent_events_to_a_broker_that_lost_them(
    own_broker: tuple[Broker, KafkaConfig],
    sessions: async_sessionmaker[AsyncSession],
    producers: Producers,
    db_url: str,
) -> None:
    broker, config = own_broker
    holder = producers(config)
    relay = OutboxRelay(
        service="intake",
        sessions=sessions,
        producer=holder,
        topic_prefix=config.topic_prefix,
        clock=CLOCK,
        poll_interval=0.05,
        claim_with_lock=not is_sqlite(db_url),
    )
    async with sessions() as session, session.begin():
        for n in range(3):
            payload = EpisodeReturned(episode_id=f"ep-{n}", force="f", police_reference=f"r{n}", returned_at=NOW)
            add_event(session, service="intake", event=to_event(payload, source="t", time=NOW), key="k", clock=CLOCK)
    assert await relay.publish_batch() == 3
    async with sessions() as session, session.begin():  # one old row, outside the republish window
        first = await session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1))
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == first).values(published_at=datetime(2026, 3, 1, tzinfo=UTC))
        )

    broker.stop()
    broker.start()  # the producer reconnects by itself; the relay must still notice the new cluster
    republished = await eventually(lambda: relay.publish_batch(), timeout=30, interval=0.5)
    assert republished == 2, "the two events published in the window go out again"
    assert await relay.publish_batch() == 0
    assert await relay.publish_batch() == 0, "the same broker does not trigger it again"


async def _at_least(seen: list[str], n: int) -> bool:
    return len(set(seen)) >= n
