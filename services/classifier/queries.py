"""Reads for MSET coordinators: the list, one child, the timeline. No writes here.

An MSET principal's tenant is a partnership; it sees a child whose responsible or host local
authority belongs to it. Anyone else's child does not exist for it (404).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier.models import Child, Decision, Episode, Link, RepeatState, TimelineItem
from services.classifier.schemas import (
    ChildOut,
    ChildPage,
    ChildRow,
    DecisionOut,
    EpisodeDecisions,
    EpisodeView,
    LinkView,
    Sort,
    Timeline,
    TimelineEntry,
)
from shared.errors import NotFound

CSV_LIMIT = 50_000
CSV_COLUMNS = (
    "child_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "responsible_la",
    "host_la",
    "looked_after",
    "out_of_area",
    "markers",
    "rules",
    "episodes_in_window",
    "episode_count",
    "last_reported_at",
    "last_returned_at",
    "rhi_status",
    "rhi_due_at",
    "rhi_on_time",
    "push_factors",
    "pull_factors",
    "exploitation_indicators",
    "places",
)


def visible(authorities: frozenset[str]) -> ColumnElement[bool]:
    """Children of a partnership: responsible or host LA is one of its authorities."""
    return or_(Child.responsible_la.in_(authorities), Child.host_la.in_(authorities))


async def visible_child(session: AsyncSession, child_id: str, authorities: frozenset[str]) -> Child:
    """A child this partnership may see, or NotFound."""
    child = await session.get(Child, child_id)
    if child is None or not ({child.responsible_la, child.host_la} & authorities):
        raise NotFound(f"no child {child_id} visible to this partnership")
    return child


def list_query(authorities: frozenset[str], *, la: str | None, rule: str | None) -> Select[Child]:
    """Children meeting any repeat rule, visible to the partnership, optionally by LA and rule."""
    query = select(Child).where(Child.on_list, visible(authorities))  # matches the partial indexes
    if la is not None:
        query = query.where(or_(Child.responsible_la == la, Child.host_la == la))
    if rule is not None:
        over = (RepeatState.child_id == Child.id) & (RepeatState.rule_id == rule) & RepeatState.over.is_(True)
        query = query.where(exists().where(over))
    return query


def _ordered(query: Select[Child], sort: Sort) -> Select[Child]:
    column = {
        "last_reported_at": Child.last_reported_at,
        "episodes_in_window": Child.episodes_in_window,
        "family_name": Child.family_name,
    }[sort.value.lstrip("-")]
    if sort.value.startswith("-"):
        return query.order_by(column.desc(), Child.id.desc())
    return query.order_by(column.asc(), Child.id.asc())


def row(child: Child) -> ChildRow:
    """The list view of a child."""
    return ChildRow(
        child_id=child.id,
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        responsible_la=child.responsible_la,
        host_la=child.host_la,
        looked_after=child.looked_after,
        out_of_area=child.out_of_area,
        markers=child.markers,
        rules=child.rules,
        episodes_in_window=child.episodes_in_window,
        episode_count=child.episode_count,
        last_reported_at=child.last_reported_at,
        last_returned_at=child.last_returned_at,
        rhi=child.rhi,
        themes=child.themes,
    )


async def mset_list(
    session: AsyncSession,
    authorities: frozenset[str],
    *,
    la: str | None,
    rule: str | None,
    sort: Sort,
    limit: int,
    offset: int,
) -> ChildPage:
    """One page of the MSET list and the total."""
    query = list_query(authorities, la=la, rule=rule)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    children = await session.scalars(_ordered(query, sort).limit(limit).offset(offset))
    return ChildPage(items=[row(c) for c in children], total=int(total or 0), limit=limit, offset=offset)


async def mset_csv(
    session: AsyncSession, authorities: frozenset[str], *, la: str | None, rule: str | None, sort: Sort
) -> str:
    """The whole list as CSV (at most CSV_LIMIT rows), with the same filters and order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    children = await session.scalars(_ordered(list_query(authorities, la=la, rule=rule), sort).limit(CSV_LIMIT))
    for child in children:
        writer.writerow(_csv_cells(row(child)))
    return out.getvalue()


def _csv_cells(item: ChildRow) -> list[Any]:
    data = item.model_dump(mode="json")
    rhi = data.pop("rhi") or {}
    themes = data.pop("themes")
    data.update(
        rhi_status=rhi.get("status"),
        rhi_due_at=rhi.get("due_at"),
        rhi_on_time=rhi.get("on_time"),
        **{
            name: themes.get(name, []) for name in ("push_factors", "pull_factors", "exploitation_indicators", "places")
        },
    )
    cells = [data[name] for name in CSV_COLUMNS]
    return ["; ".join(c) if isinstance(c, list) else ("" if c is None else c) for c in cells]


async def child_detail(session: AsyncSession, child_id: str, authorities: frozenset[str]) -> ChildOut:
    """A child, every episode and the audit trail of its links."""
    child = await visible_child(session, child_id, authorities)
    episodes = await session.scalars(select(Episode).where(Episode.child_id == child_id).order_by(Episode.reported_at))
    links = await session.scalars(
        select(Link).where(or_(Link.child_id == child_id, Link.previous_child_id == child_id)).order_by(Link.at)
    )
    return ChildOut(
        **row(child).model_dump(),
        episodes=[
            EpisodeView(
                episode_id=e.episode_id,
                force=e.force,
                police_reference=e.police_reference,
                risk_grade=e.facts["risk_grade"],
                reported_at=e.reported_at,
                returned_at=e.returned_at,
                cancelled_at=e.cancelled_at,
                classification=e.classification,
                linked_by="manual" if e.manual else "matcher",
            )
            for e in episodes
        ],
        links=[LinkView.model_validate(link, from_attributes=True) for link in links],
    )


async def child_timeline(session: AsyncSession, child_id: str, authorities: frozenset[str]) -> Timeline:
    """Every episode event, decision, link, interview task event and notification, time-ordered."""
    await visible_child(session, child_id, authorities)
    episode_ids = select(Episode.episode_id).where(Episode.child_id == child_id).scalar_subquery()
    items = [
        TimelineEntry(at=i.at, kind=i.kind, episode_id=i.episode_id, summary=i.summary, detail=i.detail)
        for i in await session.scalars(
            select(TimelineItem).where(or_(TimelineItem.episode_id.in_(episode_ids), TimelineItem.child_id == child_id))
        )
    ]
    for d in await session.scalars(select(Decision).where(Decision.episode_id.in_(episode_ids))):
        kind = "episode.classified" if d.trigger == "reported" else "episode.reclassified"
        why = "; ".join(d.reasons)
        summary = f"{d.classification} ({d.trigger}): {why}"
        detail = {"rule_ids": d.rule_ids, "ruleset_version": d.ruleset_version, "actor": d.actor, "reason": d.reason}
        items.append(TimelineEntry(at=d.decided_at, kind=kind, episode_id=d.episode_id, summary=summary, detail=detail))
    links = select(Link).where(or_(Link.child_id == child_id, Link.previous_child_id == child_id))
    for link in await session.scalars(links):
        summary = f"episode {link.action} ({link.method})" + (f": {link.reason}" if link.reason else "")
        detail = {"child_id": link.child_id, "previous_child_id": link.previous_child_id, "actor": link.actor}
        items.append(
            TimelineEntry(
                at=link.at,
                kind=f"child.episode_{link.action}",
                episode_id=link.episode_id,
                summary=summary,
                detail=detail,
            )
        )
    items.sort(key=lambda i: i.at)
    return Timeline(child_id=child_id, items=items)


def decision_out(row: Decision) -> DecisionOut:
    """One decision of the history."""
    fields = {name: getattr(row, name) for name in DecisionOut.model_fields if name != "decision_id"}
    return DecisionOut(decision_id=row.id, **fields)


async def episode_decisions(session: AsyncSession, episode_id: str, authorities: frozenset[str]) -> EpisodeDecisions:
    """The decision history of an episode whose child the partnership may see."""
    episode = await session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id} visible to this partnership")
    await visible_child(session, episode.child_id, authorities)
    rows = await session.scalars(
        select(Decision).where(Decision.episode_id == episode_id).order_by(Decision.decided_at, Decision.id)
    )
    return EpisodeDecisions(
        episode_id=episode_id,
        child_id=episode.child_id,
        classification=episode.classification,
        decisions=[decision_out(r) for r in rows],
    )
