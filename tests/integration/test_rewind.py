"""On assignment a group resumes from its commit unless the log no longer reaches it (then it rewinds)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.config import KafkaConfig
from shared.kafka.rewind import AssignmentUnchecked, Rewinder
from tests.support import commit_as

pytestmark = [pytest.mark.kafka]


async def one_batch(bootstrap: str, topic: str, count: int) -> None:
    """`count` records to partition 0, sent together so they travel as one batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        sent = [await producer.send(topic, b"x", partition=0) for _ in range(count)]
        assert [(await f).offset for f in sent] == list(range(count))
    finally:
        await producer.stop()


async def delivered_after_commit(
    kafka: KafkaConfig, topic: str, committed: int, *, new_cluster: bool = False, checker: KafkaConfig | None = None
) -> list[int]:
    """Commit `committed` for a new group, join it with a Rewinder, and return the offsets it reads.

    The Rewinder checks with `checker` (default `kafka`) and raises, as the loop would, if that failed.
    """
    group, tp = f"g-{uuid.uuid4().hex[:8]}", TopicPartition(topic, 0)
    await commit_as(kafka.bootstrap_servers, group, tp, committed)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
    )
    rewinder = Rewinder(consumer, checker or kafka, group, new_cluster=new_cluster)
    consumer.subscribe([topic], listener=rewinder)
    await consumer.start()
    try:
        offsets: list[int] = []
        deadline = asyncio.get_running_loop().time() + 6
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            rewinder.raise_if_failed()
            offsets += [r.offset for part, records in batch.items() for r in records if part == tp]
        return offsets
    finally:
        await consumer.stop()


async def test_a_commit_at_the_end_of_a_multi_record_batch_is_kept(kafka: KafkaConfig) -> None:
    # tansu reports the log end of one batch of five records as 1; the commit (5) is still valid.
    topic = f"{kafka.topic_prefix}rewind-kept"
    await one_batch(kafka.bootstrap_servers, topic, 5)
    assert await delivered_after_commit(kafka, topic, 5) == []


async def test_a_commit_past_the_end_of_the_log_rewinds_to_the_beginning(kafka: KafkaConfig) -> None:
    # As after a broker that restarted empty: the log no longer reaches the commit, so read it all.
    topic = f"{kafka.topic_prefix}rewind-lost"
    await one_batch(kafka.bootstrap_servers, topic, 3)
    assert await delivered_after_commit(kafka, topic, 50) == [0, 1, 2]


async def test_a_consumer_started_under_a_new_cluster_rewinds_a_commit_the_log_holds(kafka: KafkaConfig) -> None:
    # tansu drops commit metadata: a commit the old consumer made on the new log looks valid, yet may
    # point past records nobody read. After a cluster change every partition is read again.
    topic = f"{kafka.topic_prefix}rewind-new-cluster"
    await one_batch(kafka.bootstrap_servers, topic, 5)
    assert await delivered_after_commit(kafka, topic, 5, new_cluster=True) == [0, 1, 2, 3, 4]


async def test_an_assignment_that_cannot_be_checked_is_not_trusted(kafka: KafkaConfig) -> None:
    # aiokafka only logs a listener's error and goes on from the commit; the loop must restart instead.
    topic = f"{kafka.topic_prefix}rewind-unchecked"
    await one_batch(kafka.bootstrap_servers, topic, 3)
    unreachable = replace(kafka, bootstrap_servers="127.0.0.1:9", request_timeout_ms=1000)
    with pytest.raises(AssignmentUnchecked):
        await delivered_after_commit(kafka, topic, 50, checker=unreachable)
