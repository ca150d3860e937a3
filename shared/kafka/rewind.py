"""Where a consumer group starts after a rebalance when the broker may have lost its log."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from shared.config import KafkaConfig
from shared.kafka.client import ADMIN_TIMEOUT_S, admin_client, cluster_id

log = structlog.get_logger(__name__)


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
