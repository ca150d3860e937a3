"""Intake use cases: plain functions that take the session and never commit."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import SERVICE
from services.intake.models import Episode
from services.intake.schemas import EpisodeReport, EpisodeReturn
from shared.clock import Clock
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.codec import to_event
from shared.events.payloads import ChildRecord, EpisodeReported, EpisodeReturned, Payload
from shared.outbox import add_event


def _fingerprint(report: EpisodeReport) -> str:
    canonical = json.dumps(report.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _emit(session: AsyncSession, payload: Payload, *, episode_id: str, clock: Clock) -> None:
    event = to_event(payload, source=SERVICE, time=clock.now(), subject=episode_id, correlationid=episode_id)
    add_event(session, service=SERVICE, event=event, key=episode_id, clock=clock)


def _not_in_future(value: datetime, field: str, *, clock: Clock, skew: timedelta) -> None:
    if value > clock.now() + skew:
        raise InvalidInput(
            f"{field} is in the future", errors=[{"pointer": f"/{field}", "message": "must not be in the future"}]
        )


async def report_episode(
    session: AsyncSession, *, force: str, report: EpisodeReport, clock: Clock, skew: timedelta
) -> tuple[Episode, bool]:
    """Store a reported episode and stage episode.reported; a repeat of the same report returns the original."""
    fingerprint = _fingerprint(report)
    existing = await session.scalar(
        select(Episode).where(Episode.force == force, Episode.police_reference == report.police_reference)
    )
    if existing is not None:
        if existing.report_hash != fingerprint:
            raise Conflict(
                f"police reference {report.police_reference} already has episode {existing.id} with different "
                f"details; send changes as an update to /v1/episodes/{existing.id}, not as a new report"
            )
        return existing, False
    _not_in_future(report.reported_at, "reported_at", clock=clock, skew=skew)
    now = clock.now()
    episode = Episode(
        id=str(uuid.uuid4()),
        force=force,
        police_reference=report.police_reference,
        status="open",
        risk_grade=report.risk_grade.value,
        reported_at=report.reported_at,
        child=report.child.model_dump(mode="json"),
        report_hash=fingerprint,
        created_at=now,
        updated_at=now,
    )
    session.add(episode)
    payload = EpisodeReported(
        episode_id=episode.id,
        force=force,
        police_reference=episode.police_reference,
        reported_at=report.reported_at,
        risk_grade=report.risk_grade,
        child=ChildRecord.model_validate(episode.child),
    )
    _emit(session, payload, episode_id=episode.id, clock=clock)
    return episode, True


async def get_episode(session: AsyncSession, *, force: str, episode_id: str) -> Episode:
    """Return one of the force's episodes; another force's episode does not exist for the caller."""
    episode = await session.get(Episode, episode_id)
    if episode is None or episode.force != force:
        raise NotFound(f"no episode {episode_id} for force {force}")
    return episode


async def record_return(
    session: AsyncSession, *, force: str, episode_id: str, body: EpisodeReturn, clock: Clock, skew: timedelta
) -> Episode:
    """Record the child's return and stage episode.returned; repeating the same return is a no-op."""
    episode = await get_episode(session, force=force, episode_id=episode_id)
    if episode.returned_at is not None:
        if episode.returned_at == body.returned_at:
            return episode
        raise Conflict(f"episode {episode_id} already has a return recorded at {episode.returned_at.isoformat()}")
    if body.returned_at < episode.reported_at:
        raise InvalidInput(
            "returned_at is before the report",
            errors=[{"pointer": "/returned_at", "message": "must not be before reported_at"}],
        )
    _not_in_future(body.returned_at, "returned_at", clock=clock, skew=skew)
    episode.returned_at = body.returned_at
    episode.status = "returned"
    episode.updated_at = clock.now()
    payload = EpisodeReturned(
        episode_id=episode.id, force=force, police_reference=episode.police_reference, returned_at=body.returned_at
    )
    _emit(session, payload, episode_id=episode.id, clock=clock)
    return episode
