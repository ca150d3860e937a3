"""Through the real broker: the tracker's consumer sees the return and the classification on two topics in
either order and opens one task, which the relay publishes on the rhi topic."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.handlers import handlers
from services.rhi_tracker.models import Task
from shared.config import KafkaConfig
from shared.db import is_sqlite
from shared.events.codec import encode, to_event
from shared.events.codes import Classification
from shared.events.payloads.base import Payload
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.policy.rhi import RhiPolicy
from tests.conftest import Producers
from tests.integration.test_rhi_handlers import H72, T0, Tracker, decided, reported, returned, when
from tests.support import eventually, produce, read_topic

pytestmark = [pytest.mark.kafka]


async def send(kafka: KafkaConfig, topic: str, *payloads: Payload) -> None:
    for payload in payloads:
        value = encode(to_event(payload, source="test", time=T0, subject="e1"))
        await produce(kafka.bootstrap_servers, kafka.topic_prefix + topic, value, b"e1")


async def processed(consumer: ConsumerLoop, n: int) -> bool:
    return consumer.stats.processed >= n


async def tasks(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Task)) or 0)


@pytest.mark.parametrize("order", ["classification-first", "return-first"])
async def test_one_task_opens_whichever_topic_arrives_first(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], db_url: str, producers: Producers, order: str
) -> None:
    await ensure_topics(kafka)
    tracker = Tracker(sessions, policy=RhiPolicy(rhi_for_absent=False))  # the task must wait for "missing"
    table = handlers(clock=tracker.clock, deadline=H72, policy=tracker.policy)
    consumer = ConsumerLoop(
        service="rhi_tracker",
        topics=[Topic.EPISODES, Topic.CLASSIFICATIONS],
        handlers=table,
        sessions=sessions,
        config=kafka,
        producer=producers(kafka),
        clock=tracker.clock,
    )
    running = asyncio.create_task(consumer.run())
    try:
        episode_events = (reported("e1", T0 - H72 / 12), returned("e1", T0))
        decision = decided("e1", Classification.MISSING, T0 - H72 / 12)
        if order == "classification-first":
            await send(kafka, Topic.CLASSIFICATIONS, decision)
            await eventually(lambda: processed(consumer, 1), timeout=30)
            await send(kafka, Topic.EPISODES, *episode_events)
        else:
            await send(kafka, Topic.EPISODES, *episode_events)
            await eventually(lambda: processed(consumer, 2), timeout=30)
            assert await tasks(sessions) == 0, "pending the classification"
            await send(kafka, Topic.CLASSIFICATIONS, decision)
        await eventually(lambda: processed(consumer, 3), timeout=30)
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=15)
    assert await tasks(sessions) == 1
    relay = OutboxRelay(
        service="rhi_tracker",
        sessions=sessions,
        producer=producers(kafka),
        topic_prefix=kafka.topic_prefix,
        clock=tracker.clock,
        poll_interval=0.05,
        claim_with_lock=not is_sqlite(db_url),
    )
    assert await relay.publish_batch() == 1
    [record] = await read_topic(kafka.bootstrap_servers, kafka.topic_prefix + Topic.RHI, expected=1)
    event = json.loads(record.value)
    assert (event["type"], record.key) == ("rhi.opened", b"e1")
    assert event["data"]["classification"] == "missing"
    assert when(event["data"]["due_at"]) == T0 + H72
