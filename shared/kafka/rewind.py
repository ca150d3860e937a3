"""Where a consumer group starts after a rebalance when the broker may have lost its log."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from shared.config import KafkaConfig
from shared.kafka.client import ADMIN_TIMEOUT_S, admin_client, cluster_id

log = structlog.get_logger(__name__)
PROBE_S = 3.0


class AssignmentUnchecked(KafkaError):  # type: ignore[misc]
    """The check of a new assignment failed, so its commits are not trusted: the loop restarts the consumer."""


class Rewinder(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, read from the beginning any partition whose committed offset the broker cannot vouch for.

    That is an offset committed under another cluster id (the broker restarted empty since), or one
    past the end of the log (a retried commit that landed on the empty broker), checked by fetching
    the record before it (see `holding`). Otherwise the group resumes from its commit as usual.
    A consumer started because the broker's cluster changed (`new_cluster`) rewinds every partition
    of its first assignment: tansu drops commit metadata, so a commit the old consumer made on the
    new log before the change was noticed looks like any other, and may point past unread records.
    aiokafka fetches from the commits while this runs, and only logs its error, so the loop handles
    nothing fetched until `ready`, and restarts the consumer if the check failed (`raise_if_failed`).
    """

    def __init__(self, consumer: AIOKafkaConsumer, config: KafkaConfig, group: str, *, new_cluster: bool) -> None:
        self._consumer = consumer
        self._config = config
        self._group = group
        self.new_cluster = new_cluster
        self.failed: Exception | None = None
        self.ready = False  # the current assignment has been checked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Hold records back until the next assignment is checked; offsets are committed after each batch."""
        self.ready = False

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Rewind the partitions whose committed offsets belong to a log the broker no longer has."""
        self.ready = False
        if not assigned:
            self.ready = True
            return
        try:
            if self.new_cluster:
                await self._rewind_all(assigned)
            else:
                await self._rewind_unvouched(assigned)
        except Exception as exc:  # any failure leaves the commits unchecked
            log.warning("consumer.assignment_unchecked", service=self._group, error=repr(exc))
            self.failed = exc
            return
        self.new_cluster = False
        self.ready = True

    def raise_if_failed(self) -> None:
        """Raise AssignmentUnchecked if checking an assignment failed."""
        if self.failed is not None:
            raise AssignmentUnchecked(f"checking the assignment failed: {self.failed!r}") from self.failed

    async def _rewind_all(self, assigned: set[TopicPartition]) -> None:
        log.warning("consumer.rewind_all", service=self._group, partitions=len(assigned), reason="cluster changed")
        await self._consumer.seek_to_beginning(*assigned)

    async def _rewind_unvouched(self, assigned: set[TopicPartition]) -> None:
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
