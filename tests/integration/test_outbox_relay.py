"""The outbox relay publishes committed rows in order, and keeps retrying while the broker is down."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.broker import Broker
from shared.clock import FrozenClock
from shared.config import KafkaConfig
from shared.db import is_sqlite
from shared.events.codec import decode, to_event
from shared.events.payloads.episode import EpisodeReturned
from shared.events.registry import Topic
from shared.outbox import OutboxMessage, OutboxRelay, add_event
from tests.conftest import Producers
from tests.support import eventually, read_topic

pytestmark = [pytest.mark.kafka]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLOCK = FrozenClock(NOW)


async def stage(sessions: async_sessionmaker[AsyncSession], n: int) -> list[str]:
    ids = []
    async with sessions() as session, session.begin():
        for i in range(n):
            payload = EpisodeReturned(episode_id=f"ep-{i}", force="f", police_reference=f"r{i}", returned_at=NOW)
            event = to_event(payload, source="test", time=NOW)
            add_event(session, service="intake", event=event, key="same-key", clock=CLOCK)
            ids.append(event.id)
    return ids


def relay(
    sessions: async_sessionmaker[AsyncSession], kafka: KafkaConfig, db_url: str, producers: Producers
) -> OutboxRelay:
    return OutboxRelay(
        service="intake",
        sessions=sessions,
        producer=producers(kafka),
        topic_prefix=kafka.topic_prefix,
        clock=CLOCK,
        poll_interval=0.05,
        claim_with_lock=not is_sqlite(db_url),
    )


async def pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return len((await s.scalars(select(OutboxMessage).where(OutboxMessage.published_at.is_(None)))).all())


async def all_published(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return await pending(sessions) == 0


async def test_staged_events_are_published_once_in_order(
    sessions: async_sessionmaker[AsyncSession], kafka: KafkaConfig, db_url: str, producers: Producers
) -> None:
    ids = await stage(sessions, 20)
    r = relay(sessions, kafka, db_url, producers)
    assert await r.publish_batch() == 20
    assert await r.publish_batch() == 0, "published rows are not sent again"
    records = await read_topic(kafka.bootstrap_servers, kafka.topic_prefix + Topic.EPISODES, expected=20)
    assert [decode(rec.value).event.id for rec in records] == ids
    assert {rec.key for rec in records} == {b"same-key"}
    assert dict(records[0].headers)["content-type"].startswith(b"application/cloudevents+json")


async def test_relay_retries_while_the_broker_is_down_then_publishes_once(
    sessions: async_sessionmaker[AsyncSession], kafka: KafkaConfig, db_url: str, producers: Producers
) -> None:
    down = Broker()  # a port with nothing listening yet
    config = replace(kafka, bootstrap_servers=down.bootstrap, request_timeout_ms=2000)
    r = relay(sessions, config, db_url, producers)
    task = asyncio.create_task(r.run())
    ids = await stage(sessions, 3)
    r.wake()
    await asyncio.sleep(1.5)
    assert await pending(sessions) == 3, "nothing can be published while the broker is down"
    down.start()
    try:
        await eventually(lambda: all_published(sessions), timeout=30)
        r.stop()
        await asyncio.wait_for(task, timeout=10)
        records = await read_topic(down.bootstrap, kafka.topic_prefix + Topic.EPISODES, expected=3)
        assert [decode(rec.value).event.id for rec in records] == ids
    finally:
        down.stop()
