"""Delivery guarantees against a real HTTP receiver and a real SMTP server, on SQLite and PostgreSQL.

A receiver that fails three times then accepts gets one successful delivery under one webhook-id; one
that stays down past the budget produces a dead letter (with an ops alert and the statutory fallback)
that ops see and replay once; a dispatcher that dies between sending and recording repeats the
webhook under the same id, the receiver dedupes, and nothing is lost; e-mail reaches aiosmtpd.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.broker import free_port
from devstack.receiver import Fault
from devstack.receiver import create_app as receiver_app
from devstack.smtp import Mailbox, Refusal, read_mails, start_smtp
from devstack.stack import local_policy
from services.notifier import service
from services.notifier.app import build, channels, relay
from services.notifier.config import NotifierSettings
from services.notifier.dispatcher import Dispatcher
from services.notifier.models import Delivery, DeliveryLogEntry
from shared.auth import Role, create_key
from shared.clock import FrozenClock
from shared.config import KafkaConfig
from shared.events.codec import Decoded, decode, encode, to_event
from shared.events.codes import Classification
from shared.events.payloads.base import Payload
from shared.events.payloads.classifier import EpisodeClassified
from shared.events.payloads.rhi import RhiTaskOpened
from shared.events.registry import Topic
from shared.kafka.client import ensure_topics
from shared.outbox import OutboxMessage
from shared.policy import load_policy
from tests.samples import CHILD, SAMPLES
from tests.support import eventually, in_process, produce

MONDAY = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
REDCAR_CHILD = CHILD.model_copy(update={"responsible_la": "E06000003", "host_la": None, "school_urn": None})


@dataclass
class Sinks:
    """A webhook receiver and an SMTP server on loopback, and the policy pointing at them."""

    policy_path: Path
    hooks_log: Path
    mail_log: Path
    faults: dict[str, Fault]
    mailbox: Mailbox
    smtp_port: int
    clock: FrozenClock

    def hooks(self, recipient_id: str | None = None) -> list[dict[str, Any]]:
        """What the receiver logged, oldest first."""
        lines = self.hooks_log.read_text().splitlines() if self.hooks_log.exists() else []
        entries = [json.loads(line) for line in lines]
        return [e for e in entries if recipient_id is None or e["recipient_id"] == recipient_id]

    def mails(self) -> list[dict[str, Any]]:
        """What the SMTP server logged, oldest first."""
        return read_mails(self.mail_log)


@pytest.fixture(name="sinks")
async def sinks_fixture(tmp_path: Path) -> AsyncIterator[Sinks]:
    """Receiver and SMTP server, both on the test's frozen clock (webhook timestamps are in test time)."""
    clock = FrozenClock(MONDAY)
    port, smtp_port = free_port(), free_port()
    policy_path = local_policy(port, tmp_path / "policy.yaml")
    hooks_log, mail_log = tmp_path / "hooks.jsonl", tmp_path / "mails.jsonl"
    app = receiver_app(policy_path, hooks_log, quiet=True, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    mailbox = Mailbox(log_path=mail_log, clock=clock, quiet=True)
    smtp = await start_smtp(mailbox, "127.0.0.1", smtp_port)
    await eventually(lambda: _started(server), timeout=10)
    try:
        yield Sinks(policy_path, hooks_log, mail_log, app.state.receiver.faults, mailbox, smtp_port, clock)
    finally:
        server.should_exit = True
        await task
        smtp.close()
        await smtp.wait_closed()


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def settings_for(db_url: str, sinks: Sinks, **changes: Any) -> NotifierSettings:
    """Notifier settings for the test database and sinks; short timers."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "policy_file": sinks.policy_path,
        "smtp_port": sinks.smtp_port,
        "delivery_max_attempts": 5,
        "delivery_base_backoff": timedelta(seconds=1),
        "delivery_max_backoff": timedelta(seconds=30),
        "delivery_lease": timedelta(seconds=60),
        "delivery_timeout": timedelta(seconds=5),
    }
    return NotifierSettings(**(values | changes))


def decoded(payload: Payload, at: datetime = MONDAY) -> Decoded:
    """An event as the consumer hands it to a handler."""
    return decode(encode(to_event(payload, source="test", time=at, subject="ep-1")))


def opened(child: Any = REDCAR_CHILD, **changes: Any) -> Payload:
    """rhi.opened for a child (default: of Redcar, whose RHI provider has an e-mail fallback)."""
    return SAMPLES[RhiTaskOpened].model_copy(
        update={"child": child, "responsible_la": child.responsible_la, "host_la": child.host_la, **changes}
    )


async def route(sessions: async_sessionmaker[AsyncSession], payload: Payload, sinks: Sinks) -> list[Delivery]:
    """Route one event in its own transaction, as the consumer would."""
    policy = load_policy(sinks.policy_path)
    async with sessions() as session, session.begin():
        return await service.route_event(session, decoded=decoded(payload), policy=policy, clock=sinks.clock)


async def drain(dispatcher: Dispatcher, clock: FrozenClock, rounds: int = 20) -> int:
    """Dispatch, then move the clock past any backoff, until nothing is due; return attempts made."""
    total = 0
    for _ in range(rounds):
        sent = await dispatcher.dispatch_due()
        total += sent
        if not sent:
            return total
        clock.advance(timedelta(minutes=1))
    return total


async def rows(sessions: async_sessionmaker[AsyncSession], **where: Any) -> list[Delivery]:
    """Deliveries matching column values."""
    query = select(Delivery).order_by(Delivery.created_at, Delivery.id)
    for column, value in where.items():
        query = query.where(getattr(Delivery, column) == value)
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def outbox_types(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The event types the notifier staged, in order."""
    async with sessions() as session:
        query = select(OutboxMessage.event_type).where(OutboxMessage.service == "notifier").order_by(OutboxMessage.id)
        return list((await session.scalars(query)).all())


def notifier(app: FastAPI) -> Dispatcher:
    """The app's dispatcher (the tests drive it instead of its background loop)."""
    dispatcher: Dispatcher = app.state.dispatcher
    return dispatcher


async def test_500_three_times_then_200_is_one_delivery_under_one_webhook_id(
    db_url: str, sinks: Sinks, kafka: KafkaConfig
) -> None:
    kafka_settings = {
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "kafka_topic_prefix": kafka.topic_prefix,
        "kafka_partitions": 1,
    }
    app = build(settings_for(db_url, sinks, **kafka_settings), sinks.clock)
    async with in_process(app):
        runtime = app.state.runtime
        await ensure_topics(kafka)
        event = to_event(opened(), source="rhi_tracker", time=MONDAY, subject="ep-1")
        await produce(kafka.bootstrap_servers, kafka.topic_prefix + Topic.RHI, encode(event), b"ep-1")
        consumer = asyncio.create_task(runtime.consumer.run())
        try:
            await eventually(lambda: rows(runtime.sessions), timeout=30)
        finally:
            runtime.consumer.stop()
            await consumer
        sinks.faults["redcar-rhi"] = Fault(status=500, remaining=3)
        assert await drain(notifier(app), sinks.clock) == 4
        [delivery] = await rows(runtime.sessions)
        types = await outbox_types(runtime.sessions)
        async with runtime.sessions() as session:
            history = (await session.scalars(select(DeliveryLogEntry.outcome).order_by(DeliveryLogEntry.id))).all()

    hooks = sinks.hooks("redcar-rhi")
    assert [h["status"] for h in hooks] == [500, 500, 500, 204]
    assert {h["webhook_id"] for h in hooks} == {delivery.id}, "the same webhook-id on every attempt"
    assert all(h["verified"] for h in hooks)
    assert [h["duplicate"] for h in hooks] == [False] * 4, "exactly one successful delivery"
    assert (delivery.status, delivery.attempts, delivery.event_id) == ("delivered", 4, event.id)
    assert types == ["notification.delivered"]
    assert list(history) == ["retry", "retry", "retry", "delivered"]


async def ops_client(app: FastAPI, tenant: str = "tees") -> dict[str, str]:
    """A bearer header for an ops key of a partnership."""
    async with app.state.runtime.sessions() as session, session.begin():
        _, secret = await create_key(session, role=Role.OPS, tenant=tenant, label="test", now=MONDAY)
    return {"Authorization": f"Bearer {secret}"}


async def test_down_past_the_budget_is_a_dead_letter_ops_see_and_replay_delivers_once(
    db_url: str, sinks: Sinks
) -> None:
    app = build(settings_for(db_url, sinks, delivery_max_attempts=3), sinks.clock)
    async with in_process(app) as client:
        sessions = app.state.runtime.sessions
        [delivery] = await route(sessions, opened(), sinks)
        sinks.faults["redcar-rhi"] = Fault(status=503, remaining=1000)
        await drain(notifier(app), sinks.clock)

        dead = (await rows(sessions, id=delivery.id))[0]
        assert (dead.status, dead.attempts) == ("dead", 3)
        assert dead.last_error == "HTTP 503"
        # The ops alert (a webhook to tees-ops, no personal data) and the statutory fallback (e-mail) went out.
        [alert] = sinks.hooks("tees-ops")
        assert alert["body"]["type"] == "delivery.dead"
        assert alert["body"]["data"]["delivery_id"] == delivery.id
        assert "Mia" not in alert["raw_body"]
        [mail] = sinks.mails()
        assert mail["to"] == ["rhi.duty@redcar.example.org"]
        assert mail["notice"]["data"]["task_id"] == "rhi-1"
        fallback = await rows(sessions, channel="fallback")
        assert [(f.status, f.parent_id) for f in fallback] == [("delivered", delivery.id)]

        ops = await ops_client(app)
        listed = (await client.get("/v1/deliveries", params={"status": "dead"}, headers=ops)).json()
        assert [d["id"] for d in listed["items"]] == [delivery.id]
        assert "body" not in listed["items"][0]
        other = await ops_client(app, tenant="durham-darlington")
        assert (await client.get(f"/v1/deliveries/{delivery.id}", headers=other)).status_code == 404
        assert (
            await client.post(f"/v1/deliveries/{delivery.id}/replay", json={"reason": "x"}, headers=other)
        ).status_code == 404

        sinks.faults["redcar-rhi"] = Fault(status=503, remaining=0)  # the receiver recovers
        replayed = await client.post(f"/v1/deliveries/{delivery.id}/replay", json={"reason": "back up"}, headers=ops)
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["status"] == "pending"
        again = await client.post(f"/v1/deliveries/{delivery.id}/replay", json={"reason": "twice"}, headers=ops)
        assert again.status_code == 409
        assert await drain(notifier(app), sinks.clock) == 1
        assert await drain(notifier(app), sinks.clock) == 0
        detail = (await client.get(f"/v1/deliveries/{delivery.id}", headers=ops)).json()
        last = await client.post(f"/v1/deliveries/{delivery.id}/replay", json={"reason": "x"}, headers=ops)
        assert last.status_code == 409
        types = await outbox_types(sessions)

    accepted = [h for h in sinks.hooks("redcar-rhi") if h["status"] < 300]
    assert [h["webhook_id"] for h in accepted] == [delivery.id], "the replay delivered once"
    assert detail["status"] == "delivered"
    assert detail["replays"] == 1
    assert [e["outcome"] for e in detail["history"]] == ["retry", "retry", "dead", "replayed", "delivered"]
    assert [e["kind"] for e in detail["history"]] == ["attempt"] * 3 + ["replay", "attempt"]
    assert detail["history"][3]["detail"] == "back up"
    assert detail["history"][3]["actor"]
    assert types.count("notification.failed") == 1
    assert types.count("notification.replayed") == 1


async def test_killed_between_sending_and_recording_repeats_under_the_same_id_and_loses_nothing(
    db_url: str, sinks: Sinks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = settings_for(db_url, sinks, delivery_lease=timedelta(seconds=30))
    [delivery] = await route(sessions, opened(), sinks)
    async with httpx.AsyncClient() as client:
        policy = load_policy(sinks.policy_path)
        senders = channels(policy, client, relay(settings), sinks.clock)

        def dispatcher() -> Dispatcher:
            lock = not db_url.startswith("sqlite")
            return Dispatcher(
                sessions=sessions, channels=senders, settings=settings, clock=sinks.clock, lock_rows=lock,
                after_commit=lambda: None, policy=policy,
            )  # fmt: skip

        first = dispatcher()
        [claimed] = await first.claim()
        await first.send(claimed)  # ... and the process dies here: the outcome is never recorded
        assert [h["status"] for h in sinks.hooks("redcar-rhi")] == [204]

        second = dispatcher()
        assert await second.dispatch_due() == 0, "leased: not sent again while the lease holds"
        sinks.clock.advance(timedelta(seconds=31))
        assert await second.dispatch_due() == 1
        assert await second.dispatch_due() == 0

    hooks = sinks.hooks("redcar-rhi")
    assert [h["webhook_id"] for h in hooks] == [delivery.id, delivery.id], "repeated, under the same webhook-id"
    assert [h["duplicate"] for h in hooks] == [False, True], "the receiver can tell the repeat"
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 1), "nothing lost"
    assert await outbox_types(sessions) == ["notification.delivered"]


async def test_email_reaches_the_smtp_server_and_refusals_are_outcomes(db_url: str, sinks: Sinks) -> None:
    app = build(settings_for(db_url, sinks, delivery_max_attempts=3), sinks.clock)
    async with in_process(app):
        sessions = app.state.runtime.sessions
        middlesbrough = CHILD.model_copy(update={"host_la": None, "school_urn": None, "warning_markers": ()})
        breached = SAMPLES[next(m for m in SAMPLES if m.EVENT_TYPE == "rhi.breached")].model_copy(
            update={"child": middlesbrough, "host_la": None}
        )
        created = await route(sessions, breached, sinks)
        assert sorted(d.recipient_id for d in created) == ["middlesbrough-missing-lead", "tees-ops"]
        sinks.mailbox.refusal = Refusal(code=451, remaining=1)
        assert await drain(notifier(app), sinks.clock) == 3  # ops webhook, mail refused once, then accepted
        [mail] = sinks.mails()
        [lead] = await rows(sessions, recipient_id="middlesbrough-missing-lead")
        assert (lead.status, lead.attempts, lead.channel) == ("delivered", 2, "email")
        assert mail["message_id"] == f"<{lead.id}@notifier.mcn>"
        assert mail["to"] == ["missing.lead@middlesbrough.example.org"]
        assert mail["notice"]["type"] == "rhi.breached"
        assert "Mia" not in mail["subject"]

        sinks.mailbox.refusal = Refusal(code=550, remaining=1)
        absent = SAMPLES[EpisodeClassified].model_copy(update={"classification": Classification.ABSENT})
        assert isinstance(absent, EpisodeClassified)
        absent = absent.model_copy(update={"episode": absent.episode.model_copy(update={"child": middlesbrough})})
        [hub] = await route(sessions, absent, sinks)
        assert (hub.recipient_id, hub.channel) == ("middlesbrough-childrens-services", "email")
        await drain(notifier(app), sinks.clock)
        [refused] = await rows(sessions, id=hub.id)
        assert (refused.status, refused.attempts) == ("dead", 1), "550 is the server's final word"
        assert refused.last_error is not None
        assert refused.last_error.startswith("SMTP 550")


async def test_the_worker_loop_records_each_batch_in_the_transaction_that_claims_the_next(
    db_url: str, sinks: Sinks, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = settings_for(db_url, sinks, delivery_batch=2, delivery_poll_interval=timedelta(milliseconds=20))
    for n in range(5):
        await route(sessions, opened(task_id=f"rhi-{n}", episode_id=f"ep-{n}"), sinks)
    sinks.faults["redcar-rhi"] = Fault(status=500, remaining=1)
    policy = load_policy(sinks.policy_path)
    async with httpx.AsyncClient() as client:
        dispatcher = Dispatcher(
            sessions=sessions,
            channels=channels(policy, client, relay(settings), sinks.clock),
            settings=settings,
            clock=sinks.clock,
            lock_rows=not db_url.startswith("sqlite"),
            after_commit=lambda: None,
            policy=policy,
        )
        worker = asyncio.create_task(dispatcher.run())
        delivered = await eventually(lambda: _delivered(sessions, 4), timeout=15)
        sinks.clock.advance(timedelta(minutes=1))  # the one that met a 500 is due again
        dispatcher.wake()
        delivered = await eventually(lambda: _delivered(sessions, 5), timeout=15)
        dispatcher.stop()
        await asyncio.wait_for(worker, timeout=10)
    assert len(delivered) == 5
    accepted = [h["webhook_id"] for h in sinks.hooks("redcar-rhi") if h["status"] < 300]
    assert sorted(accepted) == sorted(d.id for d in delivered), "each delivered once"
    assert (await outbox_types(sessions)).count("notification.delivered") == 5


async def _delivered(sessions: async_sessionmaker[AsyncSession], n: int) -> list[Delivery]:
    found = await rows(sessions, status="delivered")
    return found if len(found) >= n else []
