"""The classifier's sweeps: absent episodes still open past the escalation time; repeat windows that moved."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import children, service
from services.classifier.context import Context
from services.classifier.models import Child, Episode
from services.classifier.store import Store, serialise
from shared.events.codes import Classification
from shared.sweeps import Sweep, claim

BATCH = 200
E = TypeVar("E")


def locked(query: Select[E], session: AsyncSession) -> Select[E]:
    """shared.sweeps.claim, typed for entity selects (its TypeVar is bound to row tuples)."""
    return cast("Select[E]", claim(cast(Any, query), session))


def still_open(ctx: Context, every: timedelta) -> Sweep:
    """Reclassify absent episodes that are still open `absent_escalation_after` after the report."""

    async def work(session: AsyncSession, now: datetime) -> int:
        await serialise(session)
        query = (
            select(Episode)
            .where(Episode.escalate_at <= now, Episode.classification == Classification.ABSENT.value)
            .order_by(Episode.escalate_at)
            .limit(BATCH)
        )
        episodes = list((await session.scalars(locked(query, session))).all())
        store = Store.of(session)
        for episode in episodes:
            store.remember(episode)
        await store.load_children({e.child_id for e in episodes})  # the rules read each child's episodes
        for episode in episodes:
            await escalate(session, episode, ctx=ctx, now=now)
        return len(episodes)

    return Sweep(name="classifier.still_open", every=every, work=work, batch=BATCH)


async def escalate(session: AsyncSession, episode: Episode, *, ctx: Context, now: datetime) -> None:
    """One absent episode past its escalation time: decide again; missing if the still-open rule fires."""
    episode.escalate_at = None
    if episode.returned_at is not None or episode.cancelled_at is not None:
        return
    decision = await service.evaluate(session, episode, ctx, now)
    episode.fired = list(decision.rule_ids)
    if decision.classification is not Classification.MISSING:
        return
    hours = ctx.rules.absent_escalation_after.total_seconds() / 3600
    reason = f"still open {hours:g} hours after the report"
    service.record_decision(
        session, episode, decision, trigger="still_open", ctx=ctx, correlationid=episode.episode_id, reason=reason
    )
    await children.refresh(session, {episode.child_id}, ctx=ctx, correlationid=episode.episode_id)


def review(ctx: Context, every: timedelta) -> Sweep:
    """Look again at children whose counted episodes left a window (they may drop off the list)."""

    async def work(session: AsyncSession, now: datetime) -> int:
        await serialise(session)
        query = select(Child).where(Child.review_at <= now).order_by(Child.review_at).limit(BATCH)
        due = list((await session.scalars(locked(query, session))).all())
        for child in due:
            Store.of(session).remember_child(child)
            child.review_at = None
        await children.refresh(session, [c.id for c in due], ctx=ctx, correlationid=None)
        return len(due)

    return Sweep(name="classifier.review", every=every, work=work, batch=BATCH)
