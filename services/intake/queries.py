"""Intake reads: one episode with its history, and the force's list; no writes here."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Episode, EpisodeVersion
from services.intake.schemas import EpisodeOut, EpisodePage, EpisodeSummary, VersionOut
from shared.errors import InvalidInput, NotFound
from shared.events.codes import RiskGrade


async def find_episode(session: AsyncSession, *, force: str, episode_id: str) -> Episode:
    """One of the force's episodes; another force's episode does not exist for the caller."""
    episode = await session.get(Episode, episode_id)
    if episode is None or episode.force != force:
        raise NotFound(f"no episode {episode_id} for force {force}")
    return episode


def summary(episode: Episode) -> EpisodeSummary:
    """The list view of an episode."""
    return EpisodeSummary(
        id=episode.id,
        force=episode.force,
        police_reference=episode.police_reference,
        status=episode.status,
        version=episode.version,
        risk_grade=RiskGrade(episode.risk_grade),
        reported_at=episode.reported_at,
        returned_at=episode.returned_at,
        classification=(episode.classification or {}).get("classification"),
    )


async def read_episode(session: AsyncSession, *, force: str, episode_id: str) -> EpisodeOut:
    """An episode with every version, its classification and RHI status."""
    episode = await find_episode(session, force=force, episode_id=episode_id)
    rows = await session.scalars(
        select(EpisodeVersion).where(EpisodeVersion.episode_id == episode.id).order_by(EpisodeVersion.version)
    )
    versions = [VersionOut.model_validate(v, from_attributes=True) for v in rows]
    return EpisodeOut(
        **summary(episode).model_dump(),
        risk_grade_mapped=RiskGrade(episode.risk_grade).mapped,
        cancelled_at=episode.cancelled_at,
        record=episode.record,
        return_details=episode.return_details,
        cancellation=episode.cancellation,
        versions=versions,
        classification_detail=episode.classification,
        rhi=episode.rhi,
    )


def _cursor(episode: Episode) -> str:
    return base64.urlsafe_b64encode(f"{episode.reported_at.isoformat()}|{episode.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        when, _, episode_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(when), episode_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "cursor is not one this API issued", errors=[{"pointer": "/cursor", "message": "invalid"}]
        ) from None


async def list_episodes(
    session: AsyncSession, *, force: str, status: str | None, limit: int, cursor: str | None
) -> EpisodePage:
    """The force's episodes, newest report first, optionally by status."""
    query = select(Episode).where(Episode.force == force)
    if status is not None:
        query = query.where(Episode.status == status)
    if cursor is not None:
        when, episode_id = _decode_cursor(cursor)
        query = query.where(tuple_(Episode.reported_at, Episode.id) < tuple_(when, episode_id))
    rows = list(await session.scalars(query.order_by(Episode.reported_at.desc(), Episode.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    return EpisodePage(items=[summary(e) for e in rows[:limit]], next_cursor=_cursor(rows[limit - 1]) if more else None)
