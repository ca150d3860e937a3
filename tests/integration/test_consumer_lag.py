"""The lag gauge follows the log end for every assigned partition, including one that returns nothing."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from shared.config import KafkaConfig
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import measure_lag
from tests.support import produce

pytestmark = [pytest.mark.kafka]


def lag(service: str, tp: TopicPartition) -> float | None:
    """The gauge's value for one partition."""
    labels = {"service": service, "topic": tp.topic, "partition": str(tp.partition)}
    return REGISTRY.get_sample_value("mcn_consumer_lag", labels)


async def test_lag_counts_what_the_consumer_has_not_read_even_if_it_was_never_served(kafka: KafkaConfig) -> None:
    # A partition the broker stops serving never reaches the per-batch update; this measure still sees it.
    await ensure_topics(kafka)
    topic = kafka.topic_prefix + Topic.EPISODES
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata partitions_for_topic reads
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        await measure_lag(consumer, "lag-test")
        assert [lag("lag-test", tp) for tp in partitions] == [0] * len(partitions)
        for value in (b"a", b"b", b"c", b"d", b"e"):  # one batch each: tansu's log end counts batches
            await produce(kafka.bootstrap_servers, topic, value)
        await measure_lag(consumer, "lag-test")
        assert sum(lag("lag-test", tp) or 0 for tp in partitions) == 5  # nothing was fetched: all five are behind
        await consumer.seek_to_end(*partitions)
        await measure_lag(consumer, "lag-test")
        assert [lag("lag-test", tp) for tp in partitions] == [0] * len(partitions)
    finally:
        await consumer.stop()
