"""Linking episodes to children: the matcher (see identity.py for the rules) and MSET coordinators' links.

Every link and unlink is a `classifier_links` row (who, when, why) and an event keyed by the child id.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier import SERVICE, children, queries
from services.classifier.context import Context
from services.classifier.identity import match_key
from services.classifier.models import Child, Episode, Link
from services.classifier.store import Store, serialise
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events.codec import to_event
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.classifier import ChildEpisodeLinked, ChildEpisodeUnlinked
from shared.outbox import add_event

Method = Literal["police_person_id", "name_and_date_of_birth", "new_child", "manual"]


async def find_child(
    session: AsyncSession, *, force: str, person_id: str | None, key: str, exclude: str | None = None
) -> tuple[str, Method] | None:
    """The child an episode belongs to by police person id (same force), else by match key; None if new."""
    person = (force, person_id) if person_id is not None else None
    found = [e for e in await Store.of(session).with_key(key, person) if e.episode_id != exclude]
    same_person = sorted(
        (e for e in found if person is not None and (e.force, e.police_person_id) == person),
        key=lambda e: (e.reported_at, e.episode_id),
    )
    if same_person:
        return same_person[0].child_id, "police_person_id"
    by_key = [e for e in found if e.match_key == key]
    # Another person id in the same force is another child, whatever the name.
    conflicting = {
        e.child_id for e in by_key if person_id and e.force == force and e.police_person_id not in (None, person_id)
    }
    candidates = {e.child_id for e in by_key if e.child_id not in conflicting}
    # Two children with this name and birth date (the police told them apart): a guess would be unsafe.
    return (candidates.pop(), "name_and_date_of_birth") if len(candidates) == 1 else None


def _audit(
    session: AsyncSession,
    *,
    episode_id: str,
    child_id: str,
    previous: str | None,
    method: Method,
    ctx: Context,
    correlationid: str | None,
    actor: str | None = None,
    reason: str | None = None,
    unlinked: bool = False,
) -> None:
    now = ctx.clock.now()
    action = "unlinked" if unlinked else "linked"
    session.add(
        Link(
            id=str(uuid.uuid4()),
            episode_id=episode_id,
            child_id=child_id,
            previous_child_id=previous,
            action=action,
            method=method,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    if unlinked:
        assert previous is not None
        assert actor is not None
        assert reason is not None
        payload: ChildEpisodeLinked | ChildEpisodeUnlinked = ChildEpisodeUnlinked(
            episode_id=episode_id, child_id=child_id, previous_child_id=previous, actor=actor, reason=reason, at=now
        )
    else:
        payload = ChildEpisodeLinked(
            episode_id=episode_id,
            child_id=child_id,
            previous_child_id=previous,
            method=method,
            actor=actor,
            reason=reason,
            at=now,
        )
    event = to_event(payload, source=SERVICE, time=now, subject=child_id, correlationid=correlationid)
    add_event(session, service=SERVICE, event=event, key=child_id, clock=ctx.clock)


def new_child(session: AsyncSession, ctx: Context) -> str:
    """A child with a fresh pseudonymous id (random: never derived from a name)."""
    child = Child(id=str(uuid.uuid4()), created_at=ctx.clock.now())
    Store.of(session).add_child(child)
    return child.id


async def link_new(
    session: AsyncSession, episode: Episode, child: ChildRecord, *, ctx: Context, correlationid: str | None
) -> None:
    """Give a new episode its child: an existing one that matches, or a new one."""
    episode.match_key = match_key(child.given_name, child.family_name, child.date_of_birth)
    found = await find_child(session, force=episode.force, person_id=child.police_person_id, key=episode.match_key)
    child_id, method = found if found is not None else (new_child(session, ctx), "new_child")
    episode.child_id = child_id
    _audit(
        session,
        episode_id=episode.episode_id,
        child_id=child_id,
        previous=None,
        method=method,
        ctx=ctx,
        correlationid=correlationid,
    )


async def rematch(
    session: AsyncSession,
    episode: Episode,
    child: ChildRecord,
    *,
    identity_changed: bool,
    ctx: Context,
    correlationid: str | None,
) -> set[str]:
    """After an update changed identity facts, move the episode if it now matches another child."""
    episode.match_key = match_key(child.given_name, child.family_name, child.date_of_birth)
    Store.of(session).index(episode)
    if not identity_changed or episode.manual:
        return set()
    found = await find_child(
        session,
        force=episode.force,
        person_id=child.police_person_id,
        key=episode.match_key,
        exclude=episode.episode_id,
    )
    if found is None or found[0] == episode.child_id:
        return set()
    previous = Store.of(session).move(episode, found[0])
    _audit(
        session,
        episode_id=episode.episode_id,
        child_id=found[0],
        previous=previous,
        method=found[1],
        ctx=ctx,
        correlationid=correlationid,
    )
    return {previous}


async def _episode_of(session: AsyncSession, episode_id: str, authorities: frozenset[str], ctx: Context) -> Episode:
    episode = await Store.of(session).episode(episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id} visible to this partnership")
    await queries.visible_child(session, episode.child_id, authorities)
    return episode


async def link(
    session: AsyncSession,
    *,
    principal: Principal,
    authorities: frozenset[str],
    child_id: str,
    episode_id: str,
    reason: str,
    ctx: Context,
) -> None:
    """An MSET coordinator links an episode to a child (audited); counts follow."""
    await serialise(session)
    await queries.visible_child(session, child_id, authorities)
    episode = await _episode_of(session, episode_id, authorities, ctx)
    if episode.child_id == child_id:
        raise Conflict(f"episode {episode_id} is already linked to child {child_id}")
    previous, episode.manual = Store.of(session).move(episode, child_id), True
    _audit(
        session,
        episode_id=episode_id,
        child_id=child_id,
        previous=previous,
        method="manual",
        ctx=ctx,
        correlationid=episode_id,
        actor=principal.key_id,
        reason=reason,
    )
    await children.refresh(session, {child_id, previous}, ctx=ctx, correlationid=episode_id)


async def unlink(
    session: AsyncSession,
    *,
    principal: Principal,
    authorities: frozenset[str],
    child_id: str,
    episode_id: str,
    reason: str,
    ctx: Context,
) -> str:
    """An MSET coordinator splits an episode from a child; it gets a child of its own (audited). Returns its id."""
    await serialise(session)
    await queries.visible_child(session, child_id, authorities)
    episode = await Store.of(session).episode(episode_id)
    if episode is None or episode.child_id != child_id:
        raise NotFound(f"child {child_id} has no episode {episode_id}")
    Store.of(session).move(episode, new_child(session, ctx))
    episode.manual = True
    _audit(
        session,
        episode_id=episode_id,
        child_id=episode.child_id,
        previous=child_id,
        method="manual",
        ctx=ctx,
        correlationid=episode_id,
        actor=principal.key_id,
        reason=reason,
        unlinked=True,
    )
    await children.refresh(session, {child_id, episode.child_id}, ctx=ctx, correlationid=episode_id)
    return episode.child_id
