"""Helpers (no tests) for the classifier's integration tests: events, delivery through the handlers, outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.classifier.context import Context
from services.classifier.handlers import handlers
from shared.clock import FrozenClock
from shared.events.codec import decode, encode, to_event
from shared.events.codes import CancelReason, RiskFactor, RiskGrade, UpdateKind
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReported, EpisodeReturned, EpisodeUpdated
from shared.inbox import record_new
from shared.outbox import OutboxMessage
from shared.policy import load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml"
MARCH = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def child(**changes: Any) -> ChildRecord:
    """Leah, 13, of Middlesbrough."""
    base: dict[str, Any] = {
        "given_name": "Leah",
        "family_name": "Example",
        "date_of_birth": date(2013, 1, 20),
        "responsible_la": "E06000002",
    }
    return ChildRecord(**{**base, **changes})


def reported(
    at: datetime,
    *,
    force: str = "cleveland",
    grade: RiskGrade = RiskGrade.NO_APPARENT_RISK,
    factors: tuple[RiskFactor, ...] = (),
    known: bool = True,
    **child_changes: Any,
) -> EpisodeReported:
    """A report of the child at `at`."""
    return EpisodeReported(
        episode_id=str(uuid.uuid4()),
        force=force,
        police_reference=f"{force[:3].upper()}-{uuid.uuid4().hex[:8]}",
        reported_at=at,
        risk_grade=grade,
        risk_factors=factors,
        whereabouts_known=known,
        child=child(**child_changes),
    )


def updated(report: EpisodeReported, version: int, at: datetime, **changes: Any) -> EpisodeUpdated:
    """A new version of a report."""
    data = {**report.model_dump(), "version": version, **changes}
    return EpisodeUpdated(
        **data, kind=UpdateKind.REGRADE, reason="new information", changed_fields=tuple(changes), updated_at=at
    )


def returned(report: EpisodeReported, at: datetime) -> EpisodeReturned:
    """The child came back."""
    return EpisodeReturned(
        episode_id=report.episode_id, force=report.force, police_reference=report.police_reference, returned_at=at
    )


def cancelled(report: EpisodeReported, at: datetime) -> EpisodeCancelled:
    """Reported in error."""
    return EpisodeCancelled(
        episode_id=report.episode_id,
        force=report.force,
        police_reference=report.police_reference,
        version=1,
        reason=CancelReason.REPORTED_IN_ERROR,
        cancelled_at=at,
    )


class Harness:
    """The classifier's handlers on a database, with a frozen clock; delivers events as the consumer would."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], start: datetime = MARCH) -> None:
        self.sessions = sessions
        self.clock = FrozenClock(start)
        self.ctx = Context(policy=load_policy(EXAMPLE), clock=self.clock)
        self.table = handlers(self.ctx)

    async def deliver(self, payload: Payload, *, source: str = "intake") -> None:
        """One event through its handler, in one transaction with the inbox row."""
        event = to_event(payload, source=source, time=self.clock.now(), correlationid="corr")
        decoded = decode(encode(event))
        async with self.sessions() as session, session.begin():
            assert await record_new(session, service="classifier", events=[event], now=self.clock.now()) == {event.id}
            await self.table[event.type](session, decoded)

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The classifier's staged events (CloudEvents as dicts), oldest first."""
        query = select(OutboxMessage).where(OutboxMessage.service == "classifier").order_by(OutboxMessage.id)
        if event_type is not None:
            query = query.where(OutboxMessage.event_type == event_type)
        async with self.sessions() as session:
            rows = (await session.scalars(query)).all()
        return [json.loads(r.value) for r in rows]

    async def decisions(self, episode_id: str) -> list[dict[str, Any]]:
        """The data of every decision event about an episode."""
        out = await self.events()
        kinds = ("episode.classified", "episode.reclassified")
        return [e["data"] for e in out if e["type"] in kinds and e["data"]["episode_id"] == episode_id]

    async def child_of(self, episode_id: str) -> str:
        """The episode's child id, from the latest decision or link event."""
        links = [e["data"] for e in await self.events() if e["type"].startswith("child.episode_")]
        return str([d for d in links if d["episode_id"] == episode_id][-1]["child_id"])

    def advance(self, delta: timedelta) -> None:
        """Move the clock on."""
        self.clock.advance(delta)
