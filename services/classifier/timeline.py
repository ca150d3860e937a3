"""What the child timeline shows besides decisions and links: episode, interview and notification events.

Summaries carry ids, codes and times only, never names or dates of birth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier.models import Episode, TimelineItem
from shared.events.payloads.classifier import EpisodeFacts


def add(
    session: AsyncSession,
    event_id: str,
    episode_id: str | None,
    child_id: str | None,
    kind: str,
    summary: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Remember one thing that happened."""
    item = TimelineItem(
        event_id=event_id, episode_id=episode_id, child_id=child_id, kind=kind, at=at, summary=summary[:300]
    )
    item.detail = detail or {}
    session.add(item)


def episode_event(
    session: AsyncSession, event_id: str, episode: Episode, kind: str, summary: str, at: datetime
) -> None:
    """Remember an event about one of our episodes."""
    detail = {"force": episode.force, "police_reference": episode.police_reference}
    add(session, event_id, episode.episode_id, None, kind, summary, at, detail)


def reported_summary(facts: EpisodeFacts) -> str:
    """One line about a report."""
    factors = f"; risk factors {', '.join(f.value for f in facts.risk_factors)}" if facts.risk_factors else ""
    return f"reported missing to {facts.force} ({facts.police_reference}), graded {facts.risk_grade.value}{factors}"
