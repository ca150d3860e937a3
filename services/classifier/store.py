"""The rows a transaction works on, looked up once and kept in memory (one Store per session).

The use cases read episodes, children, repeat states and interview rows only through the Store, so
a whole batch of events can run in one transaction without autoflush: new and moved rows are seen
at once, and the consumer can load everything a batch needs in a few queries (`prefetch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.classifier.models import Child, Episode, RepeatState, RhiStatus
from shared.events.payloads.classifier import EpisodeFacts

CHUNK = 500
# PostgreSQL advisory lock taken by every classifier write transaction (see `serialise`).
WRITER_LOCK = 0x6D636E_636C73
Person = tuple[str, str]  # (force, police person id)
_PARSED: dict[int, tuple[dict[str, Any], EpisodeFacts]] = {}


def parsed_facts(episode: Episode) -> EpisodeFacts:
    """The episode's stored facts, parsed once per stored value (facts are replaced, never edited in place)."""
    raw = episode.facts
    hit = _PARSED.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    if len(_PARSED) > 20_000:
        _PARSED.clear()
    parsed = EpisodeFacts.model_validate(raw)
    _PARSED[id(raw)] = (raw, parsed)  # holding `raw` keeps its id from being reused while cached
    return parsed


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    items = list(dict.fromkeys(values))
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


async def serialise(session: AsyncSession) -> None:
    """Take the classifier's writer lock for this transaction (PostgreSQL; SQLite has one writer anyway).

    A child's summary and repeat state are recomputed from its episodes; two transactions doing that
    for the same child at once (the consumer, a sweep, a coordinator's link) could each miss the
    other's change. Writers are few and the consumer is sequential, so they simply take turns.
    """
    if session.info.get("classifier.serialised") or session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK})
    session.info["classifier.serialised"] = True


class Store:
    """Identity of a transaction's rows by episode, child, match key and police person id."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.episodes: dict[str, Episode | None] = {}
        self.children: dict[str, Child | None] = {}
        self.by_child: dict[str, dict[str, Episode]] = {}
        self.complete: set[str] = set()  # children whose every episode is in by_child
        self.keys: set[str] = set()  # match keys whose every episode is loaded
        self.persons: set[Person] = set()
        self.by_key: dict[str, dict[str, Episode]] = {}
        self.by_person: dict[Person, dict[str, Episode]] = {}
        self.states: dict[str, dict[str, RepeatState]] = {}
        self.rhi_rows: dict[str, RhiStatus | None] = {}

    @staticmethod
    def of(session: AsyncSession) -> Store:
        """The session's store."""
        store = session.info.get("classifier.store")
        if not isinstance(store, Store):
            store = session.info["classifier.store"] = Store(session)
        return store

    # ------------------------------------------------------------ remembering

    def remember(self, episode: Episode) -> None:
        """An episode the session loaded (the identity map gives the same object every time)."""
        if self.episodes.get(episode.episode_id) is None:
            self.episodes[episode.episode_id] = episode
            self.by_child.setdefault(episode.child_id, {})[episode.episode_id] = episode
            self.index(episode)

    def remember_child(self, child: Child) -> None:
        """A child the session loaded."""
        self.children[child.id] = child

    def index(self, episode: Episode) -> None:
        """(Re)index an episode by its match key and person id; lookups check the current values."""
        self.by_key.setdefault(episode.match_key, {})[episode.episode_id] = episode
        if episode.police_person_id is not None:
            self.by_person.setdefault((episode.force, episode.police_person_id), {})[episode.episode_id] = episode

    def add_episode(self, episode: Episode) -> None:
        """A new episode (already linked to its child)."""
        self.session.add(episode)
        self.remember(episode)

    def add_child(self, child: Child) -> None:
        """A new child: it has no episodes in the database."""
        self.session.add(child)
        self.children[child.id] = child
        self.by_child.setdefault(child.id, {})
        self.complete.add(child.id)
        self.states[child.id] = {}

    def move(self, episode: Episode, child_id: str) -> str:
        """Link an episode to another child; returns the previous child id."""
        previous = episode.child_id
        self.by_child.get(previous, {}).pop(episode.episode_id, None)
        episode.child_id = child_id
        self.by_child.setdefault(child_id, {})[episode.episode_id] = episode
        return previous

    # ------------------------------------------------------------ lookups

    async def episode(self, episode_id: str) -> Episode | None:
        """An episode by id."""
        if episode_id not in self.episodes:
            await self.load_episodes([episode_id])
        return self.episodes[episode_id]

    async def child(self, child_id: str) -> Child | None:
        """A child by id."""
        if child_id not in self.children:
            await self.load_children([child_id])
        return self.children[child_id]

    async def episodes_of(self, child_id: str) -> list[Episode]:
        """Every episode of a child, cancelled ones included."""
        if child_id not in self.complete:
            await self.load_children([child_id])
        return [e for e in self.by_child.get(child_id, {}).values() if e.child_id == child_id]

    async def with_key(self, key: str, person: Person | None) -> list[Episode]:
        """Episodes sharing a match key or (force, police person id)."""
        await self.load_keys([key], [person] if person else [])
        found = {e.episode_id: e for e in self.by_key.get(key, {}).values() if e.match_key == key}
        if person is not None:
            same = self.by_person.get(person, {}).values()
            found |= {e.episode_id: e for e in same if (e.force, e.police_person_id) == person}
        return list(found.values())

    async def repeat_states(self, child_id: str) -> dict[str, RepeatState]:
        """A child's repeat-rule states by rule id."""
        if child_id not in self.states:
            await self.load_children([child_id])
        return self.states[child_id]

    def add_state(self, state: RepeatState) -> None:
        """A child's first state for a rule."""
        self.session.add(state)
        self.states.setdefault(state.child_id, {})[state.rule_id] = state

    async def rhi(self, episode_id: str) -> RhiStatus | None:
        """An episode's interview row."""
        if episode_id not in self.rhi_rows:
            await self.load_rhi([episode_id])
        return self.rhi_rows[episode_id]

    def add_rhi(self, row: RhiStatus) -> None:
        """An episode's first interview row."""
        self.session.add(row)
        self.rhi_rows[row.episode_id] = row

    # ------------------------------------------------------------ loading (a few queries per batch)

    async def load_episodes(self, episode_ids: Iterable[str]) -> None:
        """Episodes by id; unknown ids are remembered as absent."""
        wanted = [i for i in episode_ids if i not in self.episodes]
        for chunk in _chunks(wanted):
            for row in await self.session.scalars(select(Episode).where(Episode.episode_id.in_(chunk))):
                self.remember(row)
        for episode_id in wanted:
            self.episodes.setdefault(episode_id, None)

    async def load_keys(self, keys: Iterable[str], persons: Iterable[Person]) -> None:
        """Every episode with one of these match keys or person ids."""
        keys = [k for k in keys if k not in self.keys]
        persons = [p for p in persons if p not in self.persons]
        for chunk in _chunks(keys):
            await self._load(select(Episode).where(Episode.match_key.in_(chunk)))
        for chunk in _chunks(persons):
            await self._load(select(Episode).where(tuple_(Episode.force, Episode.police_person_id).in_(chunk)))
        self.keys.update(keys)
        self.persons.update(persons)

    async def _load(self, query: Any) -> None:
        for row in await self.session.scalars(query):
            self.remember(row)

    async def load_children(self, child_ids: Iterable[str]) -> None:
        """Children with every episode, repeat state and interview row."""
        wanted = [c for c in child_ids if c not in self.complete or c not in self.children or c not in self.states]
        for chunk in _chunks(wanted):
            await self._load(select(Episode).where(Episode.child_id.in_(chunk)))
            for child in await self.session.scalars(select(Child).where(Child.id.in_(chunk))):
                self.children.setdefault(child.id, child)
            for state in await self.session.scalars(select(RepeatState).where(RepeatState.child_id.in_(chunk))):
                self.states.setdefault(state.child_id, {}).setdefault(state.rule_id, state)
        for child_id in wanted:
            self.children.setdefault(child_id, None)
            self.states.setdefault(child_id, {})
            self.complete.add(child_id)
        episode_ids = [e for c in wanted for e in self.by_child.get(c, {})]
        await self.load_rhi(episode_ids)

    async def load_rhi(self, episode_ids: Iterable[str]) -> None:
        """Interview rows of these episodes."""
        wanted = [i for i in episode_ids if i not in self.rhi_rows]
        for chunk in _chunks(wanted):
            for row in await self.session.scalars(select(RhiStatus).where(RhiStatus.episode_id.in_(chunk))):
                self.rhi_rows[row.episode_id] = row
        for episode_id in wanted:
            self.rhi_rows.setdefault(episode_id, None)

    async def prefetch(self, episode_ids: Iterable[str], keys: Iterable[str], persons: Iterable[Person]) -> None:
        """Everything a batch of events about these episodes (and identities) may touch."""
        await self.load_episodes(episode_ids)
        await self.load_keys(keys, persons)
        await self.load_children({e.child_id for e in self.episodes.values() if e is not None})
        await self.load_rhi(episode_ids)
