"""The consumer loop on a real broker and database: inbox dedupe, offsets after commit, dead letters."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import FrozenClock
from shared.config import KafkaConfig
from shared.errors import PermanentError
from shared.events.codec import Decoded, encode, to_event
from shared.events.codes import RiskGrade
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.episode import EpisodeReported
from shared.events.registry import Topic
from shared.inbox import InboxEntry
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import ConsumerLoop, Handler
from tests.conftest import Producers
from tests.support import eventually, produce, produce_many, read_topic

pytestmark = [pytest.mark.kafka]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def reported(episode_id: str) -> bytes:
    child = ChildRecord(given_name="A", family_name="B", date_of_birth=date(2012, 1, 1), responsible_la="E06000002")
    payload = EpisodeReported(
        episode_id=episode_id,
        force="cleveland",
        police_reference=f"REF-{episode_id}",
        reported_at=NOW,
        risk_grade=RiskGrade.HIGH,
        child=child,
    )
    return encode(to_event(payload, source="test", time=NOW, subject=episode_id))


class Crash(BaseException):
    """Stands in for the process dying between the database commit and the offset commit."""


class CrashBeforeOffsetCommit(ConsumerLoop):
    """A loop that dies right after its first database commit, before committing the offset."""

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, tuple[int, str]]) -> None:
        raise Crash


def loop(
    cls: type[ConsumerLoop],
    kafka: KafkaConfig,
    sessions: async_sessionmaker[AsyncSession],
    handlers: dict[str, Handler],
    producers: Producers,
) -> ConsumerLoop:
    return cls(
        service="test_service",
        topics=[Topic.EPISODES],
        handlers=handlers,
        sessions=sessions,
        config=kafka,
        producer=producers(kafka),
        clock=FrozenClock(NOW),
    )


def recording_handler(seen: list[str]) -> dict[str, Handler]:
    async def on_reported(session: AsyncSession, decoded: Decoded) -> None:
        assert isinstance(decoded.payload, EpisodeReported)
        if decoded.payload.episode_id.startswith("permanent"):
            raise PermanentError("this episode can never be processed")
        seen.append(decoded.payload.episode_id)

    return {"episode.reported": on_reported}


async def inbox_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(InboxEntry)) or 0)


async def test_redelivery_after_crash_before_offset_commit_has_no_second_effect(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    await ensure_topics(kafka)
    await produce(kafka.bootstrap_servers, kafka.topic_prefix + Topic.EPISODES, reported("ep-1"), b"ep-1")
    seen: list[str] = []
    first = loop(CrashBeforeOffsetCommit, kafka, sessions, recording_handler(seen), producers)
    with pytest.raises(Crash):
        await asyncio.wait_for(first.run(), timeout=30)
    assert seen == ["ep-1"]
    assert await inbox_count(sessions) == 1

    second = loop(ConsumerLoop, kafka, sessions, recording_handler(seen), producers)
    task = asyncio.create_task(second.run())
    await eventually(lambda: _ready(second.stats.duplicates == 1), timeout=30)
    second.stop()
    await asyncio.wait_for(task, timeout=15)
    assert seen == ["ep-1"], "the redelivered event must not run the handler again"
    assert second.stats.processed == 0
    assert await inbox_count(sessions) == 1


async def _ready(value: bool) -> bool:
    return value


POISON = [
    (b"not json at all", "invalid CloudEvent envelope"),
    (
        b'{"specversion": "1.0", "id": "x", "source": "s", "type": "episode.nope", '
        b'"time": "2026-01-01T00:00:00Z", "data": {}}',
        "unknown event type",
    ),
    (
        b'{"specversion": "1.0", "id": "y", "source": "s", "type": "episode.reported", '
        b'"time": "2026-01-01T00:00:00Z", "data": {"episode_id": "e"}}',
        "invalid episode.reported payload",
    ),
    (reported("permanent-1"), "permanent error"),
]


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_loop_goes_on(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    await ensure_topics(kafka)
    topic = kafka.topic_prefix + Topic.EPISODES
    for value, _ in POISON:
        await produce(kafka.bootstrap_servers, topic, value, b"k")
    await produce(kafka.bootstrap_servers, topic, reported("ep-after"), b"k")
    seen: list[str] = []
    consumer = loop(ConsumerLoop, kafka, sessions, recording_handler(seen), producers)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: _ready(seen == ["ep-after"]), timeout=30)
    consumer.stop()
    await asyncio.wait_for(task, timeout=15)

    dead = await read_topic(kafka.bootstrap_servers, topic + ".dlt", expected=len(POISON))
    assert [r.value for r in dead] == [value for value, _ in POISON]
    for record, (_, reason) in zip(dead, POISON, strict=True):
        headers = dict(record.headers)
        assert reason in headers["dlt-reason"].decode()
        assert headers["dlt-topic"].decode() == topic
        assert headers["dlt-service"] == b"test_service"
    assert consumer.stats.dead_lettered == len(POISON)


async def test_offsets_are_committed_after_processing(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    await ensure_topics(kafka)
    topic = kafka.topic_prefix + Topic.EPISODES
    for n in range(5):
        await produce(kafka.bootstrap_servers, topic, reported(f"ep-{n}"), f"ep-{n}".encode())
    seen: list[str] = []
    consumer = loop(ConsumerLoop, kafka, sessions, recording_handler(seen), producers)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: _ready(len(seen) == 5), timeout=30)
    consumer.stop()
    await asyncio.wait_for(task, timeout=15)

    await produce(kafka.bootstrap_servers, topic, reported("sentinel"), b"sentinel")
    again = loop(ConsumerLoop, kafka, sessions, recording_handler(seen), producers)
    task = asyncio.create_task(again.run())
    await eventually(lambda: _ready("sentinel" in seen), timeout=30)
    again.stop()
    await asyncio.wait_for(task, timeout=15)
    assert seen == [f"ep-{n}" for n in range(5)] + ["sentinel"]
    assert again.stats.duplicates == 0, "committed offsets mean nothing before the sentinel is redelivered"


async def test_a_batch_runs_in_one_transaction_and_a_failing_record_is_isolated(
    kafka: KafkaConfig, sessions: async_sessionmaker[AsyncSession], producers: Producers
) -> None:
    await ensure_topics(kafka)
    topic = kafka.topic_prefix + Topic.EPISODES
    twice = reported("ep-1")
    burst = [twice, twice, reported("permanent-2"), reported("ep-3")]
    await produce_many(kafka.bootstrap_servers, topic, burst, b"one-partition")
    seen: list[str] = []
    consumer = loop(ConsumerLoop, kafka, sessions, recording_handler(seen), producers)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: _ready(consumer.stats.processed + consumer.stats.dead_lettered >= 3), timeout=30)
    consumer.stop()
    await asyncio.wait_for(task, timeout=15)

    # Handlers may run again when a batch is rolled back and isolated; the database says what took effect.
    assert set(seen) == {"ep-1", "ep-3"}
    assert await inbox_count(sessions) == 2, "the same event twice in a batch takes effect once"
    assert (consumer.stats.processed, consumer.stats.dead_lettered) == (2, 1)
    assert consumer.stats.duplicates == 1
    [dead] = await read_topic(kafka.bootstrap_servers, topic + ".dlt", expected=1)
    assert dead.value == burst[2]
