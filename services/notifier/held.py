"""Held notices: school notices wait for the next school morning, digests for their schedule; a sweep
releases them, built from what is known at release time. Take the session, never commit."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.deliveries import About, add_deliveries, to_json
from services.notifier.models import EpisodeState, HeldNotice, HeldStatus
from services.notifier.notices import SCHOOL_NOTICE, EpisodeNow, builder_for, envelope, school_notice
from services.notifier.routing import Facts, Selected
from services.notifier.timing import next_digest, next_school_morning
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReturned
from shared.policy import Policy
from shared.policy.notifications import Recipient, Timing

log = structlog.get_logger(__name__)
DIGEST = "digest"


async def hold(
    session: AsyncSession, chosen: Selected, decoded: Decoded, facts: Facts, policy: Policy, clock: Clock
) -> None:
    """Hold a notice until its release time: a school's until the next school morning, a digest's until its time."""
    r, now = chosen.recipient, clock.now()
    build = builder_for(decoded.event.type, r.audience)
    assert build is not None
    if chosen.rule.timing is Timing.SCHOOL_MORNING:
        state = await session.get(EpisodeState, facts.episode_id) if facts.episode_id else None
        if state is not None and state.cancelled_at is not None:
            return  # a cancelled episode is never told to a school
        release_at = next_school_morning(now, policy.notifications.school_mornings)
        content, group = build(decoded.payload), facts.child_id or facts.episode_id or decoded.event.id
    else:
        assert policy.notifications.digest is not None
        release_at = next_digest(now, policy.notifications.digest)
        content, group = {"type": decoded.event.type, "data": build(decoded.payload)}, DIGEST
    await _add_held(
        session, r, chosen.rule.timing, group, decoded.event.id, decoded.event.type, facts, content, release_at, now
    )


async def _add_held(
    session: AsyncSession,
    recipient: Recipient,
    timing: Timing,
    group: str,
    event_id: str,
    event_type: str,
    facts: Facts | HeldNotice,
    content: dict[str, Any],
    release_at: datetime,
    now: datetime,
) -> None:
    existing = await session.scalar(
        select(HeldNotice.id).where(HeldNotice.recipient_id == recipient.id, HeldNotice.event_id == event_id)
    )
    if existing is not None:
        return
    la = facts.responsible_la if isinstance(facts, Facts) else facts.local_authority
    held = HeldNotice(
        id="held_" + uuid.uuid4().hex,
        kind=timing.value,
        recipient_id=recipient.id,
        group_key=group,
        event_id=event_id,
        event_type=event_type,
        episode_id=facts.episode_id,
        child_id=facts.child_id,
        local_authority=la,
        content=to_json(content),
        release_at=release_at,
        status=HeldStatus.HELD,
        created_at=now,
    )
    session.add(held)
    log.info("notice.held", held_id=held.id, recipient=recipient.id, release_at=release_at.isoformat())


async def _episode_state(session: AsyncSession, episode_id: str, now: datetime) -> EpisodeState:
    state = await session.get(EpisodeState, episode_id)
    if state is None:
        state = EpisodeState(episode_id=episode_id, updated_at=now)
        session.add(state)
    state.updated_at = now
    return state


async def record_return(
    session: AsyncSession, *, returned: EpisodeReturned, event_id: str, policy: Policy, clock: Clock
) -> None:
    """Remember the return for notices built later; a school already told "missing" hears "returned" next morning."""
    now = clock.now()
    state = await _episode_state(session, returned.episode_id, now)
    first_return, state.returned_at = state.returned_at is None, returned.returned_at
    if not first_return:
        return  # a corrected time changes what a later notice says, but tells no school again
    rows = (await session.scalars(select(HeldNotice).where(HeldNotice.episode_id == returned.episode_id))).all()
    waiting = {r.recipient_id for r in rows if r.status == HeldStatus.HELD}
    told = {r.recipient_id: r for r in rows if r.status == HeldStatus.RELEASED and r.kind == Timing.SCHOOL_MORNING}
    for recipient_id, row in told.items():
        recipient = policy.notifications.recipient(recipient_id)
        if recipient is None or recipient_id in waiting:
            continue
        release_at = next_school_morning(now, policy.notifications.school_mornings)
        content = json.loads(row.content)
        await _add_held(
            session,
            recipient,
            Timing.SCHOOL_MORNING,
            row.group_key,
            event_id,
            "episode.returned",
            row,
            content,
            release_at,
            now,
        )


async def record_cancel(session: AsyncSession, *, cancelled: EpisodeCancelled, clock: Clock) -> int:
    """A cancelled episode's held notices are never sent; return how many were withdrawn."""
    now = clock.now()
    state = await _episode_state(session, cancelled.episode_id, now)
    state.cancelled_at = cancelled.cancelled_at
    result = await session.execute(
        update(HeldNotice)
        .where(HeldNotice.episode_id == cancelled.episode_id, HeldNotice.status == HeldStatus.HELD)
        .values(status=HeldStatus.CANCELLED, released_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_due(session: AsyncSession, *, now: datetime, policy: Policy, clock: Clock, limit: int) -> int:
    """Turn held notices due by `now` into deliveries: one per recipient, group and release time."""
    due = (
        await session.scalars(
            _claim(
                select(HeldNotice)
                .where(HeldNotice.status == HeldStatus.HELD, HeldNotice.release_at <= now)
                .order_by(HeldNotice.release_at, HeldNotice.id)
                .limit(limit),
                session,
            )
        )
    ).all()
    if not due:
        return 0
    for members in (await _whole_groups(session, due, now)).values():
        await _release(session, members, policy, clock)
    return len(due)


def _claim(query: Select[HeldNotice], session: AsyncSession) -> Select[HeldNotice]:
    # shared.sweeps.claim, typed for a one-entity select: lock on PostgreSQL, skip what another replica holds.
    return query if session.get_bind().dialect.name == "sqlite" else query.with_for_update(skip_locked=True)


async def _whole_groups(
    session: AsyncSession, due: Sequence[HeldNotice], now: datetime
) -> dict[tuple[str, str, datetime], list[HeldNotice]]:
    """Every held row of the groups the due rows belong to, so a group is never split across passes."""
    keys = {(r.recipient_id, r.group_key, r.release_at) for r in due}
    more = await session.scalars(
        _claim(
            select(HeldNotice)
            .where(HeldNotice.status == HeldStatus.HELD, HeldNotice.release_at <= now)
            .where(HeldNotice.recipient_id.in_({k[0] for k in keys}), HeldNotice.group_key.in_({k[1] for k in keys}))
            .order_by(HeldNotice.created_at, HeldNotice.id),
            session,
        )
    )
    groups: dict[tuple[str, str, datetime], list[HeldNotice]] = {}
    for row in more.all():
        key = (row.recipient_id, row.group_key, row.release_at)
        if key in keys:
            groups.setdefault(key, []).append(row)
    return groups


async def _release(session: AsyncSession, members: list[HeldNotice], policy: Policy, clock: Clock) -> None:
    now, first = clock.now(), members[0]
    recipient = policy.notifications.recipient(first.recipient_id)
    if recipient is None:
        _close(members, HeldStatus.CANCELLED, now)
        log.warning("notice.recipient_gone", recipient=first.recipient_id, held=len(members))
        return
    if first.kind == Timing.SCHOOL_MORNING:
        built = await _school_body(session, members, policy, now)
        if built is None:
            _close(members, HeldStatus.CANCELLED, now)
            return
        body, last = built
    else:
        body = envelope(DIGEST, recipient.audience, now, {"items": [json.loads(m.content) for m in members]})
        last = members[-1]
    key = f"{first.recipient_id}|{first.group_key}|{first.release_at.isoformat()}"
    await add_deliveries(
        session,
        recipient=recipient,
        event_id="held_" + hashlib.sha256(key.encode()).hexdigest()[:40],
        event_type=SCHOOL_NOTICE if first.kind == Timing.SCHOOL_MORNING else DIGEST,
        body=to_json(body),
        about=About(
            last.episode_id if first.kind == Timing.SCHOOL_MORNING else None, last.child_id, last.local_authority
        ),
        statutory=False,
        clock=clock,
    )
    _close(members, HeldStatus.RELEASED, now)


async def _school_body(
    session: AsyncSession, members: list[HeldNotice], policy: Policy, now: datetime
) -> tuple[dict[str, Any], HeldNotice] | None:
    """The school notice as things stand now: live episodes only, each missing or returned."""
    ids = list(dict.fromkeys(m.episode_id for m in members if m.episode_id))
    states = {
        s.episode_id: s
        for s in (await session.scalars(select(EpisodeState).where(EpisodeState.episode_id.in_(ids)))).all()
    }
    latest: dict[str, HeldNotice] = {}
    for m in members:
        state = states.get(m.episode_id or "")
        if m.episode_id and not (state and state.cancelled_at):
            latest[m.episode_id] = m
    if not latest:
        return None
    live = list(latest.values())
    facts = json.loads(live[-1].content)
    episodes = [_episode_now(m, states.get(m.episode_id or "")) for m in live]
    section = policy.notifications
    la = facts["responsible_la"]
    data = school_notice(facts, episodes, policy.authority_name(la), section.local_authority_contacts.get(la))
    return envelope(SCHOOL_NOTICE, "school", now, data), live[-1]


def _episode_now(row: HeldNotice, state: EpisodeState | None) -> EpisodeNow:
    reference = json.loads(row.content)["police_reference"]
    return EpisodeNow(police_reference=reference, returned_at=state.returned_at if state else None)


def _close(rows: Iterable[HeldNotice], status: str, now: datetime) -> None:
    for row in rows:
        row.status, row.released_at = status, now
