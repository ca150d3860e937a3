"""Classifier use cases: take the session, never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import SERVICE, models
from services.classifier.rules import Facts, classify
from shared.clock import Clock
from shared.events.codec import to_event
from shared.events.payloads import EpisodeClassified, EpisodeReported
from shared.outbox import add_event


async def classify_reported(
    session: AsyncSession, *, reported: EpisodeReported, clock: Clock, correlationid: str | None
) -> models.Decision:
    """Decide missing or absent for a new episode, store the decision and stage episode.classified."""
    decision = classify(Facts(risk_grade=reported.risk_grade))
    now = clock.now()
    row = models.Decision(
        id=str(uuid.uuid4()),
        episode_id=reported.episode_id,
        classification=decision.classification.value,
        rule_ids=list(decision.rule_ids),
        ruleset_version=decision.ruleset_version,
        decided_at=now,
    )
    session.add(row)
    payload = EpisodeClassified(
        episode_id=reported.episode_id,
        classification=decision.classification,
        rule_ids=decision.rule_ids,
        ruleset_version=decision.ruleset_version,
        decided_at=now,
    )
    event = to_event(payload, source=SERVICE, time=now, subject=reported.episode_id, correlationid=correlationid)
    add_event(session, service=SERVICE, event=event, key=reported.episode_id, clock=clock)
    return row
