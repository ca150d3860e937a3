"""A consumer killed after its database commit but before its offset commit: no second task, no second webhook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.broker import free_port
from devstack.receiver import create_app as receiver_app
from devstack.stack import local_policy
from services.notifier.channels.webhook import WebhookSender
from services.notifier.config import NotifierSettings
from services.notifier.dispatcher import Dispatcher
from services.notifier.handlers import handlers as notifier_handlers
from services.notifier.models import Delivery
from services.rhi_tracker.handlers import handlers as tracker_handlers
from services.rhi_tracker.models import Task
from shared.clock import SystemClock
from shared.config import KafkaConfig
from shared.db import is_sqlite
from shared.events.codec import encode, to_event
from shared.events.codes import RiskGrade
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.episode import EpisodeReported, EpisodeReturned
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.kafka.consumer import ConsumerLoop, Handler
from shared.outbox import OutboxMessage, OutboxRelay
from shared.policy import load_policy
from tests.conftest import Producers
from tests.integration.test_consumer_loop import Crash, CrashBeforeOffsetCommit
from tests.support import eventually, produce

pytestmark = [pytest.mark.kafka]
CLOCK = SystemClock()
RETURNED = datetime(2026, 3, 3, 1, 10, tzinfo=UTC)


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[tuple[Path, Path]]:
    """A real HTTP webhook receiver on loopback; yields (policy file, receiver log)."""
    port = free_port()
    policy_path, log_path = local_policy(port, tmp_path / "policy.yaml"), tmp_path / "hooks.jsonl"
    config = uvicorn.Config(receiver_app(policy_path, log_path, quiet=True), port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server), timeout=10)
    yield policy_path, log_path
    server.should_exit = True
    await task


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def event_bytes(payload: Payload) -> bytes:
    return encode(to_event(payload, source="intake", time=CLOCK.now(), subject="ep-1"))


async def count(sessions: async_sessionmaker[AsyncSession], model: type[object], **where: str) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    async with sessions() as s:
        return int(await s.scalar(query) or 0)


async def crash_then_recover(
    kafka: KafkaConfig,
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    topics: list[str],
    table: dict[str, Handler],
    expect_duplicates: int,
    producers: Producers,
) -> None:
    """Run a consumer that dies before committing offsets, then a healthy one that must only see duplicates."""
    common = {"service": service, "topics": topics, "handlers": table, "sessions": sessions, "config": kafka}
    first = CrashBeforeOffsetCommit(**common, producer=producers(kafka), clock=CLOCK)
    with pytest.raises(Crash):
        await asyncio.wait_for(first.run(), timeout=30)
    second = ConsumerLoop(**common, producer=producers(kafka), clock=CLOCK)
    task = asyncio.create_task(second.run())
    await eventually(lambda: _at_least(second.stats.duplicates, expect_duplicates), timeout=30)
    second.stop()
    await asyncio.wait_for(task, timeout=15)
    assert second.stats.processed == 0, "everything redelivered was already processed"


async def _at_least(value: int, target: int) -> bool:
    return value >= target


async def test_redelivered_return_opens_no_second_task_and_sends_no_second_webhook(
    kafka: KafkaConfig,
    sessions: async_sessionmaker[AsyncSession],
    db_url: str,
    receiver: tuple[Path, Path],
    producers: Producers,
) -> None:
    policy_path, hooks_log = receiver
    await ensure_topics(kafka)
    child = ChildRecord(
        given_name="Ava", family_name="Example", date_of_birth=date(2011, 5, 1), responsible_la="E06000002"
    )
    reported = EpisodeReported(
        episode_id="ep-1",
        force="cleveland",
        police_reference="CLE-9",
        reported_at=RETURNED - timedelta(hours=3),
        risk_grade=RiskGrade.HIGH,
        child=child,
    )
    returned = EpisodeReturned(episode_id="ep-1", force="cleveland", police_reference="CLE-9", returned_at=RETURNED)
    episodes = kafka.topic_prefix + Topic.EPISODES
    await produce(kafka.bootstrap_servers, episodes, event_bytes(reported), b"ep-1")
    await produce(kafka.bootstrap_servers, episodes, event_bytes(returned), b"ep-1")

    tracker = tracker_handlers(clock=CLOCK, deadline=timedelta(hours=72))
    await crash_then_recover(
        kafka, sessions, "rhi_tracker", [Topic.EPISODES], tracker, expect_duplicates=2, producers=producers
    )
    assert await count(sessions, Task) == 1
    assert await count(sessions, OutboxMessage, event_type="rhi.opened") == 1

    relay = OutboxRelay(
        service="rhi_tracker",
        sessions=sessions,
        producer=producers(kafka),
        topic_prefix=kafka.topic_prefix,
        clock=CLOCK,
        poll_interval=0.05,
        claim_with_lock=not is_sqlite(db_url),
    )
    assert await relay.publish_batch() == 1

    policy = load_policy(policy_path)
    notifier = notifier_handlers(policy=policy, clock=CLOCK)
    await crash_then_recover(
        kafka, sessions, "notifier", [Topic.RHI], notifier, expect_duplicates=1, producers=producers
    )
    assert await count(sessions, Delivery) == 1

    settings = NotifierSettings(database_url=db_url, policy_file=policy_path)
    async with httpx.AsyncClient() as client:
        endpoints = {r.id: r.channels[0] for r in policy.notifications.recipients}
        dispatcher = Dispatcher(
            sessions=sessions,
            channels={"webhook": WebhookSender(client, endpoints, CLOCK)},
            settings=settings,
            clock=CLOCK,
            lock_rows=not is_sqlite(db_url),
            after_commit=lambda: None,
        )
        assert await dispatcher.dispatch_due() == 1
        assert await dispatcher.dispatch_due() == 0
    lines = [json.loads(line) for line in hooks_log.read_text().splitlines()]
    assert len(lines) == 1
    assert lines[0]["verified"] is True
    assert lines[0]["body"]["data"]["due_at"] == (RETURNED + timedelta(hours=72)).isoformat()
