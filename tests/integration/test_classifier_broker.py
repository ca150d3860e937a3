"""The classifier on the real broker: episode events in, decisions and child events out, redelivery a no-op."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.classifier.handlers import prefetch
from services.classifier.models import Decision, Episode
from shared.config import KafkaConfig
from shared.db import is_sqlite
from shared.errors import PermanentError
from shared.events.codec import Decoded, encode, to_event
from shared.events.payloads.base import Payload
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import ConsumerLoop
from shared.outbox import OutboxRelay
from tests.conftest import Producers
from tests.integration.test_classifier_support import MARCH, Harness, reported, returned, updated
from tests.support import eventually, produce, read_topic

pytestmark = [pytest.mark.kafka]


@pytest.mark.parametrize("prefetched", [False, True], ids=["autoflush", "prefetched"])
async def test_episode_events_become_decisions_on_the_classifications_topic(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], db_url: str, producers: Producers, prefetched: bool
) -> None:
    await ensure_topics(kafka)
    h = Harness(sessions)
    reports = [reported(MARCH + timedelta(days=d)) for d in (0, 5, 9)]
    h.clock.set(MARCH + timedelta(days=10))
    payloads: list[Payload] = []
    for report in reports:
        payloads += [report, returned(report, report.reported_at + timedelta(hours=2))]
    payloads.append(updated(reports[0], 2, MARCH + timedelta(days=10), last_seen_location="the station"))
    topic = kafka.topic_prefix + Topic.EPISODES
    for payload in payloads:
        value = encode(to_event(payload, source="intake", time=h.clock.now(), correlationid="c"))
        await produce(kafka.bootstrap_servers, topic, value, payload.episode_id.encode())  # type: ignore[attr-defined]
        await produce(kafka.bootstrap_servers, topic, value, b"again")  # a redelivery of the same event
    await produce(kafka.bootstrap_servers, topic, b"not an event", b"x")

    common = {"service": "classifier", "topics": [Topic.EPISODES], "handlers": h.table, "sessions": sessions}
    # As the app runs it (prefetch, autoflush off) and as the shared loop runs by default.
    options: dict[str, object] = {"prefetch": prefetch, "autoflush": False} if prefetched else {}
    consumer = ConsumerLoop(**common, **options, config=kafka, producer=producers(kafka), clock=h.clock)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _handled(consumer, len(payloads)), timeout=30)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=15)
    assert consumer.stats.duplicates == len(payloads)
    assert consumer.stats.dead_lettered == 1
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Decision)) == 3
        assert len(set((await s.scalars(select(Episode.child_id))).all())) == 1

    relay = OutboxRelay(
        service="classifier",
        sessions=sessions,
        producer=producers(kafka),
        topic_prefix=kafka.topic_prefix,
        clock=h.clock,
        poll_interval=0.05,
        claim_with_lock=not is_sqlite(db_url),
    )
    published = await relay.publish_batch()
    records = await read_topic(kafka.bootstrap_servers, kafka.topic_prefix + Topic.CLASSIFICATIONS, published)
    events = [json.loads(r.value) for r in records]
    types = [e["type"] for e in events]
    assert types.count("episode.classified") == 3
    assert types.count("child.episode_linked") == 3
    assert types.count("child.repeat_missing") == 1
    by_key = {r.key.decode() for r in records if json.loads(r.value)["type"] == "episode.classified"}
    assert by_key == {r.episode_id for r in reports}, "decisions are keyed by episode id"
    crossing = next(e for e in events if e["type"] == "child.repeat_missing")
    keys = {r.key.decode() for r in records if json.loads(r.value)["type"].startswith("child.")}
    assert keys == {crossing["data"]["child_id"]}, "child events are keyed by the child id"


async def _handled(consumer: ConsumerLoop, n: int) -> bool:
    stats = consumer.stats
    return stats.processed >= n and stats.duplicates >= n and stats.dead_lettered >= 1


async def test_a_failing_event_in_a_batch_costs_only_itself(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    await ensure_topics(kafka)
    h = Harness(sessions)
    reports = [reported(MARCH, given_name=f"Kid{i}") for i in range(5)]
    poison = reports[2].episode_id
    table = dict(h.table)
    real = table["episode.reported"]

    async def fussy(session: AsyncSession, decoded: Decoded) -> None:
        if getattr(decoded.payload, "episode_id", None) == poison:
            raise PermanentError("cannot classify this one")
        await real(session, decoded)

    table["episode.reported"] = fussy
    topic = kafka.topic_prefix + Topic.EPISODES
    for report in reports:
        value = encode(to_event(report, source="intake", time=h.clock.now()))
        await produce(kafka.bootstrap_servers, topic, value, report.episode_id.encode())
    common = {"service": "classifier", "topics": [Topic.EPISODES], "handlers": table, "sessions": sessions}
    consumer = ConsumerLoop(
        **common, prefetch=prefetch, autoflush=False, config=kafka, producer=producers(kafka), clock=h.clock
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _done(consumer), timeout=30)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=15)
    async with sessions() as s:
        classified = set((await s.scalars(select(Decision.episode_id))).all())
    assert classified == {r.episode_id for r in reports} - {poison}
    [dead] = await read_topic(kafka.bootstrap_servers, topic + ".dlt", 1)
    assert json.loads(dead.value)["data"]["episode_id"] == poison


async def _done(consumer: ConsumerLoop) -> bool:
    return consumer.stats.processed >= 4 and consumer.stats.dead_lettered >= 1
