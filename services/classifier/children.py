"""The per-child summary the MSET list reads, and the repeat-missing rules, kept current on every change.

A child has few episodes, so each refresh reads them all; the list then reads one row per child.
Crossing a repeat rule emits one `child.repeat_missing`; none while the child stays over it; a new
one only after the child dropped below (as episodes leave the window, found by the review sweep).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import SERVICE, timeline
from services.classifier.context import Context
from services.classifier.models import Child, Episode, RepeatState, RhiStatus
from services.classifier.store import Store, parsed_facts
from shared.events.codes import RiskFactor
from shared.events.payloads.classifier import ChildRepeatMissing
from shared.outbox import emit
from shared.policy.classifier import RepeatRule

THEMES = ("push_factors", "pull_factors", "exploitation_indicators")


def counted(rule: RepeatRule, live: list[Episode], now: datetime) -> list[Episode]:
    """The episodes a repeat rule counts at `now`."""
    return [
        e
        for e in live
        if e.classification in rule.classifications
        and (e.exploitation or not rule.exploitation_only)
        and (rule.window is None or e.reported_at > now - rule.window)
    ]


async def refresh(session: AsyncSession, child_ids: Iterable[str], *, ctx: Context, correlationid: str | None) -> None:
    """Recompute each child's summary and repeat state."""
    store, ids = Store.of(session), sorted(set(child_ids))
    await store.load_children(ids)  # one set of queries for all of them, none if already loaded
    for child_id in ids:
        child = await store.child(child_id)
        if child is not None:
            await _refresh_one(session, child, ctx=ctx, correlationid=correlationid)


async def _refresh_one(session: AsyncSession, child: Child, *, ctx: Context, correlationid: str | None) -> None:
    now = ctx.clock.now()
    store = Store.of(session)
    episodes = await store.episodes_of(child.id)
    live = sorted((e for e in episodes if e.cancelled_at is None), key=lambda e: (e.reported_at, e.episode_id))
    rhi = {e.episode_id: row for e in live if (row := await store.rhi(e.episode_id)) is not None}
    states = await store.repeat_states(child.id)
    _summarise(child, live, rhi, ctx, now)
    met: list[str] = []
    window = ctx.rules.window()
    reviews: list[datetime] = [e.reported_at + window for e in live if e.reported_at + window > now]
    for rule in ctx.rules.repeat_rules:
        hits = counted(rule, live, now)
        if rule.window is not None:
            reviews += [e.reported_at + rule.window for e in hits]
        if len(hits) >= rule.count:
            met.append(rule.id)
        _repeat_state(session, child, rule, hits, live, states.get(rule.id), ctx=ctx, correlationid=correlationid)
    child.rules, child.on_list = met, bool(met)
    child.review_at = min(reviews, default=None)


def _summarise(child: Child, live: list[Episode], rhi: dict[str, RhiStatus], ctx: Context, now: datetime) -> None:
    child.episode_count = len(live)
    child.episodes_in_window = sum(1 for e in live if e.reported_at > now - ctx.rules.window())
    if not live:
        child.last_episode_id = child.last_reported_at = child.last_returned_at = child.rhi = None
        child.themes, child.markers = {}, []
        return
    latest = live[-1]
    record = parsed_facts(latest).child
    child.given_name, child.family_name, child.date_of_birth = (
        record.given_name,
        record.family_name,
        record.date_of_birth,
    )
    child.responsible_la, child.host_la, child.looked_after = record.responsible_la, record.host_la, record.looked_after
    child.out_of_area = record.host_la is not None and record.host_la != record.responsible_la
    child.last_episode_id, child.last_reported_at = latest.episode_id, latest.reported_at
    child.last_returned_at = max((e.returned_at for e in live if e.returned_at), default=None)
    markers = {m for e in live for m in e.facts["child"].get("warning_markers", [])}
    if any(RiskFactor.EXPLOITATION_CONCERN.value in e.facts.get("risk_factors", []) for e in live):
        markers.add(RiskFactor.EXPLOITATION_CONCERN.value)
    child.markers = sorted(markers)
    tasks = sorted(rhi.values(), key=lambda r: r.at)
    child.rhi = _rhi_view(tasks[-1]) if tasks else None
    child.themes = _themes([r.findings for r in reversed(tasks) if r.findings])


def _rhi_view(row: RhiStatus) -> dict[str, Any]:
    return {
        "episode_id": row.episode_id,
        "task_id": row.task_id,
        "status": row.status,
        "due_at": row.due_at.isoformat(),
        "on_time": row.on_time,
    }


def _themes(findings: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Push/pull factors, exploitation indicators and places, newest interview first, without repeats."""
    themes: dict[str, list[str]] = {name: [] for name in (*THEMES, "places")}
    for found in findings:
        for name in THEMES:
            themes[name] += [v for v in found.get(name, []) if v not in themes[name]]
        places = [p.get("description") or p.get("type") for p in found.get("places", [])]
        themes["places"] += [p for p in places if p and p not in themes["places"]]
    return themes


def _repeat_state(
    session: AsyncSession,
    child: Child,
    rule: RepeatRule,
    hits: list[Episode],
    live: list[Episode],
    state: RepeatState | None,
    *,
    ctx: Context,
    correlationid: str | None,
) -> None:
    now = ctx.clock.now()
    over = len(hits) >= rule.count
    if state is None:
        if not over:
            return
        state = RepeatState(child_id=child.id, rule_id=rule.id, over=False, count=0, changed_at=now)
        Store.of(session).add_state(state)
    crossed = over and not state.over
    if over != state.over or len(hits) != state.count:
        state.over, state.count, state.changed_at = over, len(hits), now
    if crossed:
        state.crossed_at = now
        _announce(session, child, rule, hits, live[-1], ctx=ctx, correlationid=correlationid)


def _announce(
    session: AsyncSession,
    child: Child,
    rule: RepeatRule,
    hits: list[Episode],
    latest: Episode,
    *,
    ctx: Context,
    correlationid: str | None,
) -> None:
    now = ctx.clock.now()
    record = parsed_facts(latest).child
    payload = ChildRepeatMissing(
        child_id=child.id,
        rule_id=rule.id,
        rule_description=rule.description,
        episode_count=len(hits),
        episode_ids=tuple(e.episode_id for e in hits),
        window_days=rule.window.days if rule.window is not None else None,
        crossed_at=now,
        responsible_la=record.responsible_la,
        host_la=record.host_la,
        child=record,
    )
    event = emit(
        session, payload, service=SERVICE, key=child.id, clock=ctx.clock, correlationid=correlationid, time=now
    )
    summary = f"met repeat rule {rule.id}: {rule.description} ({len(hits)} episodes)"
    timeline.add(session, event.id, None, child.id, "child.repeat_missing", summary, now, {"rule_id": rule.id})
