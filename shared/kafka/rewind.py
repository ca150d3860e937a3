"""Where a consumer group starts after a rebalance when the broker may have lost its log."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from shared.config import KafkaConfig
from shared.kafka.client import ADMIN_TIMEOUT_S, admin_client, cluster_id

log = structlog.get_logger(__name__)
PROBE_S = 3.0


class Rewinder(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, read from the beginning any partition whose committed offset the broker cannot vouch for.

    That is an offset committed under another cluster id (the broker restarted empty since), or one
    past the end of the log (a retried commit that landed on the empty broker), checked by fetching
    the record before it (see `holding`). Otherwise the group resumes from its commit as usual.
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
        past = {tp: m.offset for tp, m in committed.items() if tp in assigned and m.offset > ends[tp]}
        held = await holding(self._config, {tp: offset - 1 for tp, offset in past.items()})
        for tp in partitions:
            mark = committed.get(tp)
            if mark is None or mark.offset < 0:
                continue
            other_cluster = mark.metadata not in ("", None, current)
            if other_cluster or (tp in past and tp not in held):
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


async def holding(config: KafkaConfig, offsets: dict[TopicPartition, int]) -> set[TopicPartition]:
    """The partitions whose log holds a record at the given offset, found by fetching it.

    A committed offset past the log end that ListOffsets reports is not proof of a lost log on tansu,
    which reports the last batch's base offset + 1 (1 after one batch of five records); without this
    check every reassignment at the tail re-read whole topics. A fetch past the end returns nothing
    (no out-of-range error), so a partition that shows no record by PROBE_S is taken as lost.
    """
    if not offsets:
        return set()
    probe = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        enable_auto_commit=False,
        request_timeout_ms=config.request_timeout_ms,
    )
    await probe.start()
    try:
        probe.assign(list(offsets))
        for tp, offset in offsets.items():
            probe.seek(tp, offset)
        found: set[TopicPartition] = set()
        deadline = time.monotonic() + PROBE_S
        while len(found) < len(offsets) and time.monotonic() < deadline:
            batch = await probe.getmany(timeout_ms=200)
            found |= {tp for tp, records in batch.items() if any(r.offset == offsets[tp] for r in records)}
        return found
    finally:
        await probe.stop()
