"""From episode and classification events to task events, in both arrival orders, on SQLite and PostgreSQL.

The helpers here (event builders, `Tracker`) are shared by the other tests/integration/test_rhi_*.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.handlers import handlers
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.sweep import deadline_sweep
from shared.clock import FrozenClock
from shared.events.codec import Decoded, to_event
from shared.events.codes import CancelReason, Classification, RiskGrade, UpdateKind
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import (
    ChildEpisodeLinked,
    EpisodeClassified,
    EpisodeFacts,
    EpisodeReclassified,
)
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReported, EpisodeReturned, EpisodeUpdated
from shared.outbox import OutboxMessage
from shared.policy.rhi import EscalationStep, RhiPolicy
from shared.sweeps import Sweeper

LA = "E06000002"
OTHER_LA = "E06000003"
FORCE = "cleveland"
H72 = timedelta(hours=72)
T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday


def child(person: str | None = "P-1", la: str = LA, **extra: Any) -> ChildRecord:
    """A child record; the police person id is what links episodes when the classifier has not."""
    return ChildRecord(
        police_person_id=person,
        given_name="Ava",
        family_name="Example",
        date_of_birth=date(2012, 4, 1),
        responsible_la=la,
        **extra,
    )


def reported(episode_id: str, at: datetime, who: ChildRecord | None = None, **extra: Any) -> EpisodeReported:
    """episode.reported for an episode."""
    return EpisodeReported(
        episode_id=episode_id,
        force=FORCE,
        police_reference=f"REF-{episode_id}",
        reported_at=at,
        risk_grade=extra.pop("risk_grade", RiskGrade.MEDIUM),
        child=who or child(),
        **extra,
    )


def returned(episode_id: str, at: datetime, correction: str | None = None) -> EpisodeReturned:
    """episode.returned, or a corrected return when `correction` gives the reason."""
    return EpisodeReturned(
        episode_id=episode_id,
        force=FORCE,
        police_reference=f"REF-{episode_id}",
        returned_at=at,
        correction_reason=correction,
    )


def decided(
    episode_id: str,
    classification: Classification,
    reported_at: datetime,
    child_id: str | None = None,
    who: ChildRecord | None = None,
    previous: Classification | None = None,
) -> EpisodeClassified | EpisodeReclassified:
    """episode.classified, or episode.reclassified when `previous` is given."""
    facts = EpisodeFacts(
        force=FORCE,
        police_reference=f"REF-{episode_id}",
        version=1,
        reported_at=reported_at,
        risk_grade=RiskGrade.NO_APPARENT_RISK if classification is Classification.ABSENT else RiskGrade.HIGH,
        child=who or child(),
    )
    common: dict[str, Any] = {
        "decision_id": f"d-{episode_id}-{classification}",
        "episode_id": episode_id,
        "child_id": child_id or f"child-of-{episode_id}",
        "classification": classification,
        "rule_ids": ("R",),
        "reasons": ("r",),
        "ruleset_version": "test",
        "decided_at": reported_at,
        "episode": facts,
    }
    if previous is None:
        return EpisodeClassified(**common, trigger="reported")
    return EpisodeReclassified(**common, trigger="still_open", previous_classification=previous, reason="still open")


def when(value: str) -> datetime:
    """An event's timestamp as an aware datetime."""
    return datetime.fromisoformat(value)


@dataclass
class Tracker:
    """The tracker's handlers and sweep on a test database, with a frozen clock."""

    sessions: async_sessionmaker[AsyncSession]
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(T0))
    policy: RhiPolicy = field(default_factory=RhiPolicy)
    deadline: timedelta = H72

    async def deliver(self, *payloads: Payload) -> None:
        """Each event in its own transaction, as the consumer loop runs it."""
        table = handlers(clock=self.clock, deadline=self.deadline, policy=self.policy)
        for payload in payloads:
            event = to_event(payload, source="test", time=self.clock.now(), subject="x")
            async with self.sessions() as session, session.begin():
                await table[payload.EVENT_TYPE](session, Decoded(event=event, payload=payload))

    async def deliver_together(self, *payloads: Payload) -> None:
        """All events in one transaction, as the consumer loop runs a fetched batch of one partition."""
        table = handlers(clock=self.clock, deadline=self.deadline, policy=self.policy)
        async with self.sessions() as session, session.begin():
            for payload in payloads:
                event = to_event(payload, source="test", time=self.clock.now(), subject="x")
                await table[payload.EVENT_TYPE](session, Decoded(event=event, payload=payload))

    async def sweep(self, at: datetime | None = None, batch: int = 500) -> int:
        """Run the deadline sweep once at `at` (default: the clock's now)."""
        if at is not None:
            self.clock.set(at)
        sweep = deadline_sweep(policy=self.policy, clock=self.clock, every=timedelta(seconds=1), batch=batch)
        return await Sweeper(sessions=self.sessions, clock=self.clock, after_commit=lambda: None).run(sweep)

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The data of every staged rhi event, in order (optionally of one type)."""
        query = select(OutboxMessage).where(OutboxMessage.service == "rhi_tracker").order_by(OutboxMessage.id)
        if event_type is not None:
            query = query.where(OutboxMessage.event_type == event_type)
        async with self.sessions() as session:
            rows = list(await session.scalars(query))
        return [{"type": r.event_type, **json.loads(r.value)["data"]} for r in rows]

    async def types(self) -> list[str]:
        """The types of every staged rhi event, in order."""
        return [e["type"] for e in await self.events()]

    async def task(self, episode_id: str) -> Task | None:
        """The task of an episode, if any."""
        async with self.sessions() as session:
            return await session.scalar(select(Task).where(Task.episode_id == episode_id))

    async def count_tasks(self) -> int:
        """How many tasks exist."""
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Task)) or 0)


@pytest.fixture
def tracker(sessions: async_sessionmaker[AsyncSession]) -> Tracker:
    """The tracker under the default policy."""
    return Tracker(sessions)


async def test_return_opens_a_task_due_72_hours_later(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    [opened] = await tracker.events("rhi.opened")
    assert when(opened["due_at"]) == T0 + H72
    assert opened["responsible_la"] == LA
    assert opened["classification"] is None, "rhi_for_absent is on: no need to wait for the classification"
    task = await tracker.task("e1")
    assert task is not None
    assert (task.status, task.version, task.next_check_at) == ("open", 1, T0 + timedelta(hours=24))


@pytest.mark.parametrize("order", ["classified-first", "returned-first"])
async def test_missing_episode_opens_one_task_in_either_order(tracker: Tracker, order: str) -> None:
    report, back = reported("e1", T0 - timedelta(hours=5)), returned("e1", T0)
    decision = decided("e1", Classification.MISSING, T0 - timedelta(hours=5))
    sequence = [decision, report, back] if order == "classified-first" else [report, back, decision]
    await tracker.deliver(*sequence)
    assert await tracker.types() == ["rhi.opened"]
    task = await tracker.task("e1")
    assert task is not None
    assert task.due_at == T0 + H72


@pytest.mark.parametrize("order", ["classified-first", "returned-first"])
async def test_absent_episode_gets_no_task_when_rhi_for_absent_is_off(
    sessions: async_sessionmaker[AsyncSession], order: str
) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(rhi_for_absent=False))
    report, back = reported("e1", T0 - timedelta(hours=5)), returned("e1", T0)
    decision = decided("e1", Classification.ABSENT, T0 - timedelta(hours=5))
    await tracker.deliver(*([decision, report, back] if order == "classified-first" else [report, back, decision]))
    assert await tracker.count_tasks() == 0
    assert await tracker.types() == []


async def test_with_rhi_for_absent_off_a_pending_return_opens_when_the_missing_decision_arrives(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tracker = Tracker(sessions, policy=RhiPolicy(rhi_for_absent=False))
    await tracker.deliver(reported("e1", T0 - timedelta(hours=30)), returned("e1", T0))
    assert await tracker.count_tasks() == 0, "waits for the classification"
    tracker.clock.set(T0 + timedelta(hours=2))
    await tracker.deliver(decided("e1", Classification.ABSENT, T0 - timedelta(hours=30)))
    assert await tracker.count_tasks() == 0
    late = decided("e1", Classification.MISSING, T0 - timedelta(hours=30), previous=Classification.ABSENT)
    await tracker.deliver(late)
    [opened] = await tracker.events("rhi.opened")
    assert opened["classification"] == "missing"
    assert when(opened["due_at"]) == T0 + H72, "due from the return, not from the decision"


async def test_absent_episode_gets_a_task_by_default(tracker: Tracker) -> None:
    await tracker.deliver(
        decided("e1", Classification.ABSENT, T0 - timedelta(hours=1)), reported("e1", T0 - timedelta(hours=1))
    )
    await tracker.deliver(returned("e1", T0))
    [opened] = await tracker.events("rhi.opened")
    assert opened["classification"] == "absent"


async def test_redelivered_return_opens_no_second_task(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=1)), returned("e1", T0), returned("e1", T0))
    assert await tracker.count_tasks() == 1
    assert await tracker.types() == ["rhi.opened"]


async def test_a_return_for_an_unknown_episode_is_a_permanent_error(tracker: Tracker) -> None:
    from shared.errors import PermanentError

    with pytest.raises(PermanentError, match="unknown episode"):
        await tracker.deliver(returned("nope", T0))


async def test_corrected_return_moves_the_due_time_and_is_audited(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    earlier = T0 - timedelta(hours=2)
    await tracker.deliver(returned("e1", earlier, correction="typed the wrong hour"))
    [changed] = await tracker.events("rhi.due_changed")
    assert when(changed["due_at"]) == earlier + H72
    assert when(changed["previous_due_at"]) == T0 + H72
    assert when(changed["previous_returned_at"]) == T0
    assert changed["reason"] == "typed the wrong hour"
    task = await tracker.task("e1")
    assert task is not None
    assert (task.version, task.due_at, task.next_check_at) == (2, earlier + H72, earlier + timedelta(hours=24))


async def test_cancelled_episode_cancels_its_open_task(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    cancel = EpisodeCancelled(
        episode_id="e1",
        force=FORCE,
        police_reference="REF-e1",
        version=2,
        reason=CancelReason.REPORTED_IN_ERROR,
        detail="wrong child",
        cancelled_at=T0 + timedelta(hours=1),
    )
    await tracker.deliver(cancel)
    [event] = await tracker.events("rhi.cancelled")
    assert event["reason"] == "reported_in_error: wrong child"
    task = await tracker.task("e1")
    assert task is not None
    assert (task.status, task.next_check_at) == ("cancelled", None)
    assert await tracker.sweep(T0 + timedelta(days=10)) == 0, "a cancelled task never breaches"


async def test_same_child_missing_again_supersedes_the_open_task(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    await tracker.deliver(reported("e2", T0 + timedelta(hours=34)))
    [event] = await tracker.events("rhi.superseded")
    assert event["superseded_by_episode_id"] == "e2"
    assert event["episode_id"] == "e1"
    first = await tracker.task("e1")
    assert first is not None
    assert (first.status, first.superseded_by_episode_id, first.next_check_at) == ("superseded", "e2", None)


async def test_another_child_does_not_supersede(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    await tracker.deliver(reported("e2", T0 + timedelta(hours=34), who=child(person="P-2")))
    other_force = reported("e3", T0 + timedelta(hours=35)).model_copy(update={"force": "durham"})
    await tracker.deliver(other_force)
    assert await tracker.events("rhi.superseded") == []


async def test_the_classifiers_child_id_links_episodes_without_a_police_person_id(tracker: Tracker) -> None:
    anonymous = child(person=None)
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5), who=anonymous), returned("e1", T0))
    await tracker.deliver(decided("e1", Classification.MISSING, T0 - timedelta(hours=5), child_id="C-9", who=anonymous))
    await tracker.deliver(reported("e2", T0 + timedelta(hours=30), who=anonymous))
    assert await tracker.events("rhi.superseded") == [], "not yet known to be the same child"
    await tracker.deliver(
        decided("e2", Classification.MISSING, T0 + timedelta(hours=30), child_id="C-9", who=anonymous)
    )
    [event] = await tracker.events("rhi.superseded")
    assert (event["episode_id"], event["superseded_by_episode_id"]) == ("e1", "e2")


async def test_a_link_event_supersedes_too(tracker: Tracker) -> None:
    anonymous = child(person=None)
    await tracker.deliver(decided("e1", Classification.MISSING, T0 - timedelta(hours=5), child_id="C-1", who=anonymous))
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5), who=anonymous), returned("e1", T0))
    await tracker.deliver(reported("e2", T0 + timedelta(hours=30), who=anonymous))
    link = ChildEpisodeLinked(
        episode_id="e2", child_id="C-1", previous_child_id=None, method="manual", actor="k", at=T0
    )
    await tracker.deliver(link)
    [event] = await tracker.events("rhi.superseded")
    assert event["superseded_by_episode_id"] == "e2"


async def test_a_late_return_after_the_next_report_opens_an_already_superseded_task(tracker: Tracker) -> None:
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)))
    await tracker.deliver(reported("e2", T0 + timedelta(hours=30)))  # processed first: another partition
    await tracker.deliver(returned("e1", T0))
    assert await tracker.types() == ["rhi.opened", "rhi.superseded"]
    assert await tracker.sweep(T0 + timedelta(days=5)) == 0


async def test_a_corrected_responsible_authority_moves_the_open_task(tracker: Tracker) -> None:
    report = reported("e1", T0 - timedelta(hours=5))
    await tracker.deliver(report, returned("e1", T0))
    moved = EpisodeUpdated(
        **report.model_dump(exclude={"child", "version"}),
        version=2,
        child=child(la=OTHER_LA, host_la=LA, looked_after=True),
        kind=UpdateKind.CORRECTION,
        reason="placing authority is Redcar",
        changed_fields=("child.responsible_la", "child.host_la"),
        updated_at=T0 + timedelta(hours=1),
    )
    await tracker.deliver(moved)
    [event] = await tracker.events("rhi.reassigned")
    assert (event["responsible_la"], event["previous_responsible_la"], event["host_la"]) == (OTHER_LA, LA, LA)
    task = await tracker.task("e1")
    assert task is not None
    assert (task.responsible_la, task.version) == (OTHER_LA, 2)
    async with tracker.sessions() as session:
        episode = await session.get(TrackedEpisode, "e1")
        assert episode is not None
        assert (episode.looked_after, episode.episode_version) == (True, 2)


async def test_an_older_version_arriving_late_does_not_overwrite_the_newer_record(tracker: Tracker) -> None:
    report = reported("e1", T0 - timedelta(hours=5))
    newer = EpisodeUpdated(
        **report.model_dump(exclude={"child", "version"}),
        version=2,
        child=child(la=OTHER_LA),
        kind=UpdateKind.CORRECTION,
        reason="r",
        changed_fields=("child.responsible_la",),
        updated_at=T0,
    )
    await tracker.deliver(report, newer, decided("e1", Classification.MISSING, T0 - timedelta(hours=5)))
    async with tracker.sessions() as session:
        episode = await session.get(TrackedEpisode, "e1")
        assert episode is not None
        assert (episode.responsible_la, episode.classification) == (OTHER_LA, "missing")


async def test_escalation_policy_is_carried(sessions: async_sessionmaker[AsyncSession]) -> None:
    steps = (EscalationStep(id="tm", name="Team manager", after_breach=timedelta(hours=1)),)
    tracker = Tracker(sessions, policy=RhiPolicy(escalations=steps))
    await tracker.deliver(reported("e1", T0 - timedelta(hours=5)), returned("e1", T0))
    await tracker.sweep(T0 + H72 + timedelta(hours=2))
    assert await tracker.types() == ["rhi.opened", "rhi.breached", "rhi.escalated"]


async def test_a_batch_of_events_in_one_transaction_has_the_same_effect(tracker: Tracker) -> None:
    cancel = EpisodeCancelled(
        episode_id="e3",
        force=FORCE,
        police_reference="REF-e3",
        version=2,
        reason=CancelReason.DUPLICATE,
        cancelled_at=T0 + timedelta(hours=2),
    )
    await tracker.deliver_together(
        reported("e1", T0 - timedelta(hours=5)),
        returned("e1", T0),
        decided("e1", Classification.MISSING, T0 - timedelta(hours=5)),
        returned("e1", T0 - timedelta(hours=1), correction="an hour earlier"),
        reported("e2", T0 + timedelta(hours=30)),  # the same child again
        reported("e3", T0 - timedelta(hours=5), who=child(person="P-3")),
        returned("e3", T0),
        cancel,
    )
    assert await tracker.types() == [
        "rhi.opened",
        "rhi.due_changed",
        "rhi.superseded",
        "rhi.opened",
        "rhi.cancelled",
    ]
    first, third = await tracker.task("e1"), await tracker.task("e3")
    assert first is not None
    assert third is not None
    assert (first.status, first.version, first.due_at) == ("superseded", 3, T0 - timedelta(hours=1) + H72)
    assert (third.status, third.next_check_at) == ("cancelled", None)
