"""Classifier use cases: take the session, never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import SERVICE, models
from services.classifier.rules import Facts, classify
from shared.clock import Clock
from shared.events.codec import to_event
from shared.events.payloads.classifier import EpisodeClassified, EpisodeFacts
from shared.events.payloads.episode import EpisodeReported
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
        decision_id=row.id,
        episode_id=reported.episode_id,
        child_id=reported.episode_id,  # one child per episode until identity matching (issue 4)
        classification=decision.classification,
        rule_ids=decision.rule_ids,
        reasons=decision.reasons,
        ruleset_version=decision.ruleset_version,
        decided_at=now,
        trigger="reported",
        episode=EpisodeFacts(
            force=reported.force,
            police_reference=reported.police_reference,
            version=reported.version,
            reported_at=reported.reported_at,
            last_seen_at=reported.last_seen_at,
            last_seen_location=reported.last_seen_location,
            whereabouts_known=reported.whereabouts_known,
            risk_grade=reported.risk_grade,
            risk_factors=reported.risk_factors,
            child=reported.child,
        ),
    )
    event = to_event(payload, source=SERVICE, time=now, subject=reported.episode_id, correlationid=correlationid)
    add_event(session, service=SERVICE, event=event, key=reported.episode_id, clock=clock)
    return row
