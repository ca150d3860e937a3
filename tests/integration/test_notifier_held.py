"""Held notices on SQLite and PostgreSQL: school notices wait for the school morning and say what is then
known; one per child per morning; cancelled episodes are never told; digests gather an MSET recipient's notices."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier import held
from services.notifier.app import channels, relay, release_sweep
from services.notifier.dispatcher import Dispatcher
from services.notifier.fieldsets import outside
from services.notifier.models import Delivery, HeldNotice
from services.notifier.service import route_event
from shared.events.codes import CancelReason, Classification
from shared.events.payloads.base import Payload
from shared.events.payloads.classifier import ChildRepeatMissing, EpisodeClassified
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReturned
from shared.policy import Policy, load_policy
from shared.sweeps import Sweeper
from tests.integration.test_notifier_delivery import (
    Sinks,
    decoded,
    settings_for,
    sinks_fixture,  # noqa: F401 (the `sinks` fixture)
)
from tests.samples import CHILD, SAMPLES

LONDON = ZoneInfo("Europe/London")
ELLA = CHILD.model_copy(
    update={
        "given_name": "Ella",
        "responsible_la": "E06000003",
        "host_la": None,
        "school_urn": "123456",
        "warning_markers": (),
    }
)


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def classified(episode_id: str = "ep-ella-1", reference: str = "CLE-ELLA-1", child: Any = ELLA) -> Payload:
    base = SAMPLES[EpisodeClassified]
    assert isinstance(base, EpisodeClassified)
    episode = base.episode.model_copy(update={"child": child, "police_reference": reference})
    return base.model_copy(
        update={
            "episode_id": episode_id,
            "child_id": "child-ella",
            "episode": episode,
            "classification": Classification.MISSING,
        }
    )


def returned(at: datetime, episode_id: str = "ep-ella-1") -> EpisodeReturned:
    return EpisodeReturned(episode_id=episode_id, force="cleveland", police_reference="CLE-ELLA-1", returned_at=at)


class Notifier:
    """The notifier's use cases on one database, driven as its consumer and its sweep would drive them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], sinks: Sinks, policy: Policy | None = None) -> None:
        self.sessions, self.sinks = sessions, sinks
        self.policy = policy or load_policy(sinks.policy_path)
        self.settings = settings_for("sqlite+aiosqlite://", sinks)
        self.sweeper = Sweeper(sessions=sessions, clock=sinks.clock, after_commit=lambda: None)

    async def consume(self, payload: Payload) -> None:
        """One event, in its own transaction, at the clock's time."""
        event = decoded(payload, at=self.sinks.clock.now())
        async with self.sessions() as session, session.begin():
            if isinstance(payload, EpisodeReturned):
                await held.record_return(
                    session, returned=payload, event_id=event.event.id, policy=self.policy, clock=self.sinks.clock
                )
            elif isinstance(payload, EpisodeCancelled):
                await held.record_cancel(session, cancelled=payload, clock=self.sinks.clock)
            else:
                await route_event(session, decoded=event, policy=self.policy, clock=self.sinks.clock)

    async def at(self, when: datetime) -> int:
        """Move the clock and run the release sweep once; return how many held rows it handled."""
        self.sinks.clock.set(when)
        return await self.sweeper.run(release_sweep(self.settings, self.policy, self.sinks.clock))

    async def deliveries(self, recipient_id: str) -> list[Delivery]:
        async with self.sessions() as session:
            query = select(Delivery).where(Delivery.recipient_id == recipient_id).order_by(Delivery.created_at)
            return list((await session.scalars(query)).all())

    async def held(self) -> list[HeldNotice]:
        async with self.sessions() as session:
            return list((await session.scalars(select(HeldNotice).order_by(HeldNotice.created_at))).all())

    async def dispatch(self, lock: bool) -> int:
        async with httpx.AsyncClient() as client:
            dispatcher = Dispatcher(
                sessions=self.sessions,
                channels=channels(self.policy, client, relay(self.settings), self.sinks.clock),
                settings=self.settings,
                clock=self.sinks.clock,
                lock_rows=lock,
                after_commit=lambda: None,
            )
            return await dispatcher.dispatch_due()


def school_bodies(deliveries: list[Delivery]) -> list[dict[str, Any]]:
    bodies = [json.loads(d.body) for d in deliveries]
    for body in bodies:
        assert body["type"] == "school.notice"
        assert outside("school", body) == set(), "only the school field set"
    return bodies


DSL = "hillside-academy-dsl"


async def test_scenario_7_reported_saturday_returned_sunday_one_minimal_notice_monday_morning(
    sessions: async_sessionmaker[AsyncSession], sinks: Sinks, db_url: str
) -> None:
    n = Notifier(sessions, sinks)
    sinks.clock.set(london("2026-03-07 14:00"))
    await n.consume(classified())
    assert await n.deliveries(DSL) == [], "held, not sent at the weekend"
    assert [h.release_at for h in await n.held()] == [london("2026-03-09 08:00")]
    assert await n.at(london("2026-03-08 10:00")) == 0
    await n.consume(returned(london("2026-03-08 10:00")))
    assert await n.at(london("2026-03-09 07:59")) == 0
    assert await n.at(london("2026-03-09 08:00:20")) == 1
    assert await n.at(london("2026-03-09 08:01")) == 0, "released once"

    [body] = school_bodies(await n.deliveries(DSL))
    assert body["data"] == {
        "school_urn": "123456",
        "child": {"given_name": "Ella", "family_name": "Example", "date_of_birth": "2011-01-15"},
        "episodes": [
            {"police_reference": "CLE-ELLA-1", "status": "returned", "returned_at": "2026-03-08T10:00:00+00:00"}
        ],
        "la_contact": {
            "local_authority": "E06000003",
            "name": "Redcar and Cleveland",
            "contact": "Redcar and Cleveland multi-agency children's hub: 01642 130700",
        },
    }
    assert await n.dispatch(lock=not db_url.startswith("sqlite")) >= 1
    [mail] = [m for m in sinks.mails() if m["notice_type"] == "school.notice"]
    assert mail["to"] == ["dsl@hillside-academy.example.org"]
    assert datetime.fromisoformat(mail["received_at"]) < london("2026-03-09 08:30")
    assert mail["notice"] == body


async def test_one_notice_per_child_per_morning(sessions: async_sessionmaker[AsyncSession], sinks: Sinks) -> None:
    n = Notifier(sessions, sinks)
    sinks.clock.set(london("2026-03-06 21:00"))  # Friday evening
    await n.consume(classified())
    sinks.clock.set(london("2026-03-07 09:00"))
    await n.consume(returned(london("2026-03-07 09:00")))
    sinks.clock.set(london("2026-03-08 23:30"))  # missing again late on Sunday evening
    await n.consume(classified("ep-ella-2", "CLE-ELLA-2"))
    assert await n.at(london("2026-03-09 08:00")) == 2
    [body] = school_bodies(await n.deliveries(DSL))
    assert [(e["police_reference"], e["status"]) for e in body["data"]["episodes"]] == [
        ("CLE-ELLA-1", "returned"),
        ("CLE-ELLA-2", "missing"),
    ]


async def test_a_cancelled_episode_is_never_told_to_a_school(
    sessions: async_sessionmaker[AsyncSession], sinks: Sinks
) -> None:
    n = Notifier(sessions, sinks)
    sinks.clock.set(london("2026-03-07 14:00"))
    await n.consume(classified())
    await n.consume(classified("ep-ella-2", "CLE-ELLA-2"))
    cancel = EpisodeCancelled(
        episode_id="ep-ella-1",
        force="cleveland",
        police_reference="CLE-ELLA-1",
        version=1,
        reason=CancelReason.REPORTED_IN_ERROR,
        cancelled_at=london("2026-03-07 15:00"),
    )
    await n.consume(cancel)
    # Out of order: the cancellation of a third episode arrives before its classification.
    await n.consume(cancel.model_copy(update={"episode_id": "ep-ella-3"}))
    await n.consume(classified("ep-ella-3", "CLE-ELLA-3"))
    await n.at(london("2026-03-09 08:00"))
    [body] = school_bodies(await n.deliveries(DSL))
    assert [e["police_reference"] for e in body["data"]["episodes"]] == ["CLE-ELLA-2"]

    await n.consume(cancel.model_copy(update={"episode_id": "ep-ella-4"}))
    sinks.clock.set(london("2026-03-09 09:00"))
    await n.consume(classified("ep-ella-4", "CLE-ELLA-4"))
    await n.consume(classified("ep-ella-5", "CLE-ELLA-5"))
    await n.consume(cancel.model_copy(update={"episode_id": "ep-ella-5"}))
    await n.at(london("2026-03-10 08:00"))
    assert len(await n.deliveries(DSL)) == 1, "nothing on Tuesday: both episodes were cancelled"
    assert {h.status for h in await n.held() if h.episode_id in ("ep-ella-4", "ep-ella-5")} == {"cancelled"}


async def test_a_return_before_the_classification_is_still_known_at_release(
    sessions: async_sessionmaker[AsyncSession], sinks: Sinks
) -> None:
    n = Notifier(sessions, sinks)
    sinks.clock.set(london("2026-03-07 14:00"))
    await n.consume(returned(london("2026-03-07 13:50")))  # the episodes topic ran ahead of classifications
    await n.consume(classified())
    await n.at(london("2026-03-09 08:00"))
    [body] = school_bodies(await n.deliveries(DSL))
    assert body["data"]["episodes"][0]["status"] == "returned"


async def test_a_return_after_the_notice_is_told_the_next_school_morning(
    sessions: async_sessionmaker[AsyncSession], sinks: Sinks
) -> None:
    n = Notifier(sessions, sinks)
    sinks.clock.set(london("2026-03-08 20:00"))
    await n.consume(classified())
    await n.at(london("2026-03-09 08:00"))
    sinks.clock.set(london("2026-03-09 11:00"))
    await n.consume(returned(london("2026-03-09 10:30")))
    await n.consume(returned(london("2026-03-09 10:20")).model_copy(update={"correction_reason": "typo"}))
    await n.at(london("2026-03-09 16:00"))
    assert len(await n.deliveries(DSL)) == 1, "not during the school day"
    await n.at(london("2026-03-10 08:00"))
    first, second = school_bodies(await n.deliveries(DSL))
    assert first["data"]["episodes"][0]["status"] == "missing"
    assert second["data"]["episodes"][0] == {
        "police_reference": "CLE-ELLA-1",
        "status": "returned",
        "returned_at": london("2026-03-09 10:20").isoformat(),
    }
    await n.at(london("2026-03-11 08:00"))
    assert len(await n.deliveries(DSL)) == 2, "a corrected return time tells no school again"


async def test_routing_twice_holds_once(sessions: async_sessionmaker[AsyncSession], sinks: Sinks) -> None:
    n = Notifier(sessions, sinks)
    payload = classified()
    event = decoded(payload)
    for _ in range(2):
        async with sessions() as session, session.begin():
            await route_event(session, decoded=event, policy=n.policy, clock=sinks.clock)
    assert len(await n.held()) == 1


async def test_an_mset_digest_gathers_notices_until_its_time(
    sessions: async_sessionmaker[AsyncSession], sinks: Sinks
) -> None:
    raw = yaml.safe_load(sinks.policy_path.read_text())
    raw["notifications"]["digest"] = {"times": ["09:00"], "days": ["mon", "wed", "fri"]}
    for rule in raw["notifications"]["rules"]:
        if rule["id"] == "repeat-missing-to-mset":
            rule["timing"] = "digest"
    n = Notifier(sessions, sinks, Policy.model_validate(raw))
    repeat = SAMPLES[ChildRepeatMissing].model_copy(update={"responsible_la": "E06000003", "child": ELLA})
    sinks.clock.set(london("2026-03-09 10:00"))  # Monday, after the digest time
    await n.consume(repeat)
    await n.consume(repeat.model_copy(update={"child_id": "child-2", "crossed_at": london("2026-03-09 10:05")}))
    assert await n.at(london("2026-03-10 09:00")) == 0, "Tuesday is not a digest day"
    assert await n.at(london("2026-03-11 09:00")) == 2
    [digest] = await n.deliveries("tees-mset")
    body = json.loads(digest.body)
    assert body["type"] == "digest"
    assert [item["type"] for item in body["data"]["items"]] == ["child.repeat_missing"] * 2
    assert outside("mset", body) == set(), "a digest carries MSET's referral pack only"
