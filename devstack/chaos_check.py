"""The chaos run's checker: the invariants, read from the databases and the sinks' logs after the run."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devstack.chaos_drive import Driven
from services.classifier.models import Decision
from services.intake.models import Episode
from services.notifier.models import Delivery, DeliveryStatus, HeldNotice, HeldStatus
from services.rhi_tracker.models import Task, TaskHistory
from services.rhi_tracker.states import ACTIVE, Status
from shared.outbox import OutboxMessage

EXAMPLES = 3


@dataclass
class Invariant:
    """One invariant: how many things it was checked on, which failed (a few named)."""

    name: str
    checked: int = 0
    failed: int = 0
    examples: list[str] = field(default_factory=list)
    note: str = ""

    def fail(self, example: str) -> None:
        """Count one failure, keeping the first few as examples."""
        self.failed += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)

    @property
    def held(self) -> bool:
        """Whether nothing failed."""
        return self.failed == 0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every entry of a JSON-lines log (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


async def check_all(
    session: AsyncSession, driven: Driven, now: datetime, webhooks: list[dict[str, Any]], mails: list[dict[str, Any]]
) -> list[Invariant]:
    """Every invariant of the chaos run, in the order the table prints them."""
    episodes = {e.id: e for e in await session.scalars(select(Episode))}
    tasks = list(await session.scalars(select(Task)))
    deliveries = list(await session.scalars(select(Delivery)))
    return [
        stored(driven, episodes),
        returns_recorded(driven, episodes),
        await classified(session, episodes),
        one_task_per_return(episodes, tasks),
        await breached_once(session, tasks, now),
        delivered(deliveries, webhooks, mails),
        one_webhook_id(deliveries, webhooks),
        await outbox_drained(session),
        await held_released(session, now),
    ]


def stored(driven: Driven, episodes: dict[str, Episode]) -> Invariant:
    """Every report answered 2xx is stored, under the id the police were given."""
    inv = Invariant("every accepted episode stored", checked=len(driven.reports))
    for (force, reference), episode_id in driven.reports.items():
        found = episodes.get(episode_id)
        if found is None or (found.force, found.police_reference) != (force, reference):
            inv.fail(episode_id)
    return inv


def returns_recorded(driven: Driven, episodes: dict[str, Episode]) -> Invariant:
    """Every return answered 2xx is recorded on its episode."""
    inv = Invariant("every accepted return recorded", checked=len(driven.returns))
    for episode_id in driven.returns:
        if episodes.get(episode_id) is None or episodes[episode_id].returned_at is None:
            inv.fail(episode_id)
    return inv


async def classified(session: AsyncSession, episodes: dict[str, Episode]) -> Invariant:
    """Every stored episode has at least one classifier decision."""
    decided = set(await session.scalars(select(Decision.episode_id).distinct()))
    inv = Invariant("every stored episode classified", checked=len(episodes))
    for episode_id in episodes.keys() - decided:
        inv.fail(episode_id)
    return inv


def one_task_per_return(episodes: dict[str, Episode], tasks: list[Task]) -> Invariant:
    """Every returned episode has exactly one task, in any state (superseded counts as finished)."""
    per_episode = Counter(t.episode_id for t in tasks)
    returned = [e.id for e in episodes.values() if e.returned_at is not None]
    inv = Invariant("every return -> exactly one task", checked=len(returned))
    for episode_id in returned:
        if per_episode[episode_id] != 1:
            inv.fail(f"{episode_id}: {per_episode[episode_id]} tasks")
    statuses = Counter(t.status for t in tasks)
    inv.note = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
    return inv


async def breached_once(session: AsyncSession, tasks: list[Task], now: datetime) -> Invariant:
    """A task still active past its deadline breached exactly once; none breached before it was due.

    A task closed after its deadline may have closed before the sweep saw it: at most one breach.
    """
    query = select(TaskHistory.task_id).where(TaskHistory.event_type == "rhi.breached")
    return breach_verdict(tasks, Counter(await session.scalars(query)), now)


def breach_verdict(tasks: list[Task], breaches: Counter[str], now: datetime) -> Invariant:
    """The breach invariant over the tasks and their rhi.breached history rows (see breached_once)."""
    due = [t for t in tasks if t.due_at <= now]
    inv = Invariant("every due task breached exactly once", checked=len(tasks))
    for task in tasks:
        n = breaches[task.id]
        if task.due_at > now or (task.closed_at is not None and task.closed_at < task.due_at):
            expected = n == 0
        elif Status(task.status) in ACTIVE:
            expected = n == 1 and task.breached_at is not None
        else:
            expected = n <= 1
        if not expected or (n == 1) != (task.breached_at is not None):
            inv.fail(f"task {task.id} ({task.status}, due {task.due_at:%Y-%m-%d %H:%M}): {n} breaches")
    inv.note = f"{len(due)} due, {sum(1 for t in tasks if breaches[t.id])} breached"
    return inv


def delivered(deliveries: list[Delivery], webhooks: list[dict[str, Any]], mails: list[dict[str, Any]]) -> Invariant:
    """Every delivery row is delivered, and its recipient's sink accepted it at least once under its id."""
    hooks = {(h["recipient_id"], h["webhook_id"]) for h in webhooks if h["status"] < 300}
    mailed = {m["message_id"] for m in mails}
    inv = Invariant("every notification delivered at least once", checked=len(deliveries))
    for d in deliveries:
        seen = (d.recipient_id, d.id) in hooks if d.channel == "webhook" else f"<{d.id}@notifier.mcn>" in mailed
        if d.status != DeliveryStatus.DELIVERED or not seen:
            inv.fail(f"{d.id} {d.event_type} to {d.recipient_id} by {d.channel}: {d.status}, seen={seen}")
    channels = Counter(d.channel for d in deliveries)
    inv.note = ", ".join(f"{c} {n}" for c, n in sorted(channels.items()))
    return inv


def one_webhook_id(deliveries: list[Delivery], webhooks: list[dict[str, Any]]) -> Invariant:
    """No recipient got one notice (same body) under two webhook-ids, nor an id the notifier has no row for.

    The body names the event (its type, time and data), so (recipient, body) stands for
    (event, recipient, channel) as the recipient sees it, without trusting the notifier's table.
    """
    rows = {d.id: d for d in deliveries}
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    accepted = [h for h in webhooks if h["status"] < 300]
    for h in accepted:
        ids[(h["recipient_id"], h["raw_body"])].add(h["webhook_id"])
    inv = Invariant("one webhook-id per (event, recipient, channel)", checked=len(ids))
    for (recipient, _body), seen in ids.items():
        if len(seen) > 1:
            inv.fail(f"{recipient} saw one notice as {sorted(seen)}")
    for h in accepted:
        row = rows.get(h["webhook_id"])
        if row is None or (row.recipient_id, row.channel) != (h["recipient_id"], "webhook"):
            inv.fail(f"{h['recipient_id']} got {h['webhook_id']}, which no webhook delivery row has")
    duplicates = sum(1 for h in accepted if h["duplicate"])
    inv.note = f"{len(accepted)} accepted webhooks, {duplicates} repeats of an id"
    return inv


async def outbox_drained(session: AsyncSession) -> Invariant:
    """Every event every service wrote has been published."""
    total = await session.scalar(select(func.count()).select_from(OutboxMessage))
    pending = select(OutboxMessage.service, OutboxMessage.event_type).where(OutboxMessage.published_at.is_(None))
    inv = Invariant("every outbox event published", checked=int(total or 0))
    for service, event_type in (await session.execute(pending)).all():
        inv.fail(f"{service} {event_type}")
    return inv


async def held_released(session: AsyncSession, now: datetime) -> Invariant:
    """Every held notice (school mornings) whose release time has passed was released."""
    query = select(HeldNotice).where(HeldNotice.release_at <= now)
    held = list(await session.scalars(query))
    inv = Invariant("every held notice due released", checked=len(held))
    for notice in held:
        if notice.status == HeldStatus.HELD:
            inv.fail(f"{notice.id} to {notice.recipient_id}, due {notice.release_at:%Y-%m-%d %H:%M}")
    return inv
