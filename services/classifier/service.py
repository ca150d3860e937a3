"""Classifier use cases for episode events: take the session, never commit.

Every decision is a new `classifier_decisions` row and an event in the same transaction; the
episode row only remembers the current classification. Automatic reclassification only ever
turns absent into missing; only a person's correction can make an episode absent again.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import SERVICE, children, linking, queries, timeline
from services.classifier.context import Context
from services.classifier.models import Decision, Episode
from services.classifier.rules import Decision as RuleDecision
from services.classifier.rules import classify, facts_of, grade_rank
from services.classifier.store import Store, parsed_facts, serialise
from shared import outbox
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events.codes import Classification, RiskFactor
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import EpisodeClassified, EpisodeFacts, EpisodeReclassified, Trigger
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReturned, EpisodeSnapshot, EpisodeUpdated

MISSING, ABSENT = Classification.MISSING, Classification.ABSENT
CORRECTION_RULE = "C1-corrected-by-person"


def emit(session: AsyncSession, payload: Payload, *, key: str, ctx: Context, correlationid: str | None) -> None:
    """Stage one of our events in the caller's transaction."""
    outbox.emit(session, payload, service=SERVICE, key=key, clock=ctx.clock, correlationid=correlationid)


def episode_facts(snapshot: EpisodeSnapshot, returned_at: datetime | None = None) -> EpisodeFacts:
    """The facts a decision carries, so consumers need nothing else."""
    return EpisodeFacts(
        force=snapshot.force,
        police_reference=snapshot.police_reference,
        version=snapshot.version,
        reported_at=snapshot.reported_at,
        last_seen_at=snapshot.last_seen_at,
        last_seen_location=snapshot.last_seen_location,
        whereabouts_known=snapshot.whereabouts_known,
        risk_grade=snapshot.risk_grade,
        risk_factors=snapshot.risk_factors,
        returned_at=returned_at,
        child=snapshot.child,
    )


def facts_of_episode(episode: Episode) -> EpisodeFacts:
    """The stored facts of an episode."""
    return parsed_facts(episode)


def _exploitation(facts: EpisodeFacts, ctx: Context) -> bool:
    marked = any(m in ctx.rules.exploitation_markers for m in facts.child.warning_markers)
    return marked or RiskFactor.EXPLOITATION_CONCERN in facts.risk_factors


def _store_facts(episode: Episode, facts: EpisodeFacts, ctx: Context) -> None:
    episode.facts = facts.model_dump(mode="json")
    episode.version = facts.version
    episode.police_person_id = facts.child.police_person_id
    episode.exploitation = _exploitation(facts, ctx)


async def recent_episodes(session: AsyncSession, episode: Episode, window: timedelta) -> int:
    """The child's live episodes reported within `window` up to this one, this one included."""
    others = await Store.of(session).episodes_of(episode.child_id)
    since = episode.reported_at - window
    return 1 + sum(
        1
        for e in others
        if e.episode_id != episode.episode_id
        and e.cancelled_at is None
        and since <= e.reported_at <= episode.reported_at
    )


async def evaluate(session: AsyncSession, episode: Episode, ctx: Context, now: datetime) -> RuleDecision:
    """Run the rules on an episode as it stands now."""
    facts = facts_of_episode(episode)
    still_open = episode.returned_at is None and episode.cancelled_at is None
    return classify(
        facts_of(
            risk_grade=facts.risk_grade,
            risk_factors=facts.risk_factors,
            whereabouts_known=facts.whereabouts_known,
            reported_at=facts.reported_at,
            child=facts.child,
            recent_episodes=await recent_episodes(session, episode, ctx.rules.repeat_pattern.window),
            open_for=max(now - episode.reported_at, timedelta(0)) if still_open else None,
        ),
        ctx.rules,
        ctx.version,
    )


def record_decision(
    session: AsyncSession,
    episode: Episode,
    decision: RuleDecision,
    *,
    trigger: Trigger,
    ctx: Context,
    correlationid: str | None,
    reason: str | None = None,
    actor: str | None = None,
) -> Decision:
    """Store a decision, make it the episode's current one and stage its event."""
    now = ctx.clock.now()
    previous = Classification(episode.classification) if trigger != "reported" else None
    row = Decision(
        id=str(uuid.uuid4()),
        episode_id=episode.episode_id,
        child_id=episode.child_id,
        classification=decision.classification.value,
        rule_ids=list(decision.rule_ids),
        reasons=list(decision.reasons),
        ruleset_version=decision.ruleset_version,
        trigger=trigger,
        previous_classification=previous.value if previous else None,
        reason=reason,
        actor=actor,
        decided_at=now,
    )
    session.add(row)
    episode.classification = decision.classification.value
    episode.escalate_at = _escalate_at(episode, decision.classification, trigger, ctx, now)
    common = {
        "decision_id": row.id,
        "episode_id": episode.episode_id,
        "child_id": episode.child_id,
        "classification": decision.classification,
        "rule_ids": decision.rule_ids,
        "reasons": decision.reasons,
        "ruleset_version": decision.ruleset_version,
        "decided_at": now,
        "trigger": trigger,
        "episode": facts_of_episode(episode),
    }
    payload: Payload = (
        EpisodeClassified(**common)
        if previous is None
        else EpisodeReclassified(**common, previous_classification=previous, reason=reason or "", actor=actor)
    )
    emit(session, payload, key=episode.episode_id, ctx=ctx, correlationid=correlationid)
    return row


def _escalate_at(
    episode: Episode, classification: Classification, trigger: Trigger, ctx: Context, now: datetime
) -> datetime | None:
    if classification is not ABSENT or episode.returned_at is not None or episode.cancelled_at is not None:
        return None
    # A person's correction to absent starts the escalation time again from the correction.
    start = now if trigger == "correction" else episode.reported_at
    return start + ctx.rules.absent_escalation_after


def _identity(child: ChildRecord) -> tuple[str | None, str, str, date]:
    return child.police_person_id, child.given_name, child.family_name, child.date_of_birth


async def episode_reported(
    session: AsyncSession, *, reported: EpisodeSnapshot, event_id: str, ctx: Context, correlationid: str | None
) -> Episode | None:
    """Link a new episode to a child, classify it, and look at the child's repeat rules again."""
    store = Store.of(session)
    if await store.episode(reported.episode_id) is not None:
        return None
    now = ctx.clock.now()
    facts = episode_facts(reported)
    episode = Episode(
        episode_id=reported.episode_id,
        force=reported.force,
        police_reference=reported.police_reference,
        reported_at=reported.reported_at,
        classification=ABSENT.value,
        fired=[],
    )
    _store_facts(episode, facts, ctx)
    await linking.link_new(session, episode, facts.child, ctx=ctx, correlationid=correlationid)
    store.add_episode(episode)
    decision = await evaluate(session, episode, ctx, now)
    episode.fired = list(decision.rule_ids)
    record_decision(session, episode, decision, trigger="reported", ctx=ctx, correlationid=correlationid)
    summary = timeline.reported_summary(facts)
    timeline.episode_event(session, event_id, episode, "episode.reported", summary, reported.reported_at)
    await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=correlationid)
    return episode


async def episode_updated(
    session: AsyncSession, *, updated: EpisodeUpdated, event_id: str, ctx: Context, correlationid: str | None
) -> None:
    """Take the new version; reclassify an absent episode when the risk rose or an overriding factor appeared."""
    episode = await Store.of(session).episode(updated.episode_id)
    if episode is None:  # we never saw the report: classify what we have now
        await episode_reported(session, reported=updated, event_id=event_id, ctx=ctx, correlationid=correlationid)
        return
    if updated.version <= episode.version:
        return
    now, before = ctx.clock.now(), facts_of_episode(episode)
    _store_facts(episode, episode_facts(updated, returned_at=episode.returned_at), ctx)
    changed = _identity(before.child) != _identity(updated.child)
    moved_from = await linking.rematch(
        session, episode, updated.child, identity_changed=changed, ctx=ctx, correlationid=correlationid
    )
    decision = await evaluate(session, episode, ctx, now)
    new_rules = set(decision.rule_ids) - set(episode.fired)
    raised = grade_rank(updated.risk_grade) > grade_rank(before.risk_grade) or any(r[0] == "O" for r in new_rules)
    if episode.classification == ABSENT and decision.classification is MISSING and raised:
        reason = "new information raised the risk: " + "; ".join(
            why for rule_id, why in zip(decision.rule_ids, decision.reasons, strict=True) if rule_id in new_rules
        )
        record_decision(
            session, episode, decision, trigger="updated", ctx=ctx, correlationid=correlationid, reason=reason
        )
    episode.fired = list(decision.rule_ids)
    summary = f"updated to version {updated.version} ({updated.kind.value}: {', '.join(updated.changed_fields)})"
    timeline.episode_event(session, event_id, episode, "episode.updated", summary, updated.updated_at)
    await children.refresh(session, {episode.child_id, *moved_from}, ctx=ctx, correlationid=correlationid)


async def episode_returned(
    session: AsyncSession, *, returned: EpisodeReturned, event_id: str, ctx: Context, correlationid: str | None
) -> None:
    """The child is back: the episode is no longer still open; the last return moves."""
    episode = await Store.of(session).episode(returned.episode_id)
    corrected = " (corrected)" if returned.correction_reason else ""
    summary = f"returned{corrected} at {returned.returned_at.isoformat()}"
    if episode is None:
        timeline.add(session, event_id, returned.episode_id, None, "episode.returned", summary, returned.returned_at)
        return
    episode.returned_at = returned.returned_at
    episode.escalate_at = None
    episode.facts = {**episode.facts, "returned_at": returned.returned_at.isoformat()}
    timeline.episode_event(session, event_id, episode, "episode.returned", summary, returned.returned_at)
    await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=correlationid)


async def episode_cancelled(
    session: AsyncSession, *, cancelled: EpisodeCancelled, event_id: str, ctx: Context, correlationid: str | None
) -> None:
    """Reported in error: the episode no longer counts toward anything."""
    episode = await Store.of(session).episode(cancelled.episode_id)
    summary = f"cancelled ({cancelled.reason.value})"
    if episode is None:
        timeline.add(
            session, event_id, cancelled.episode_id, None, "episode.cancelled", summary, cancelled.cancelled_at
        )
        return
    episode.cancelled_at = cancelled.cancelled_at
    episode.escalate_at = None
    timeline.episode_event(session, event_id, episode, "episode.cancelled", summary, cancelled.cancelled_at)
    await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=correlationid)


async def correct(
    session: AsyncSession,
    *,
    principal: Principal,
    authorities: frozenset[str],
    episode_id: str,
    classification: Classification,
    reason: str,
    ctx: Context,
) -> Decision:
    """An authorised person corrects a classification, with a reason; audited as a new decision."""
    await serialise(session)
    episode = await Store.of(session).episode(episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id} visible to this partnership")
    await queries.visible_child(session, episode.child_id, authorities)
    if episode.classification == classification.value:
        raise Conflict(f"episode {episode_id} is already classified {classification.value}")
    decision = RuleDecision(classification, (CORRECTION_RULE,), (reason,), ctx.version)
    row = record_decision(
        session,
        episode,
        decision,
        trigger="correction",
        ctx=ctx,
        correlationid=episode_id,
        reason=reason,
        actor=principal.key_id,
    )
    await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=episode_id)
    return row
