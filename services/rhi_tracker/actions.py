"""What social care records on a task: offer, completion with findings, decline, not possible, not offered.

Each action locks the task, checks the version the caller saw (If-Match: 412 when stale;
expected_version: 409), applies one state-machine step (409 naming the state when illegal) and
emits its event, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.emit import emit
from services.rhi_tracker.exceptions import PreconditionFailed, PreconditionRequired
from services.rhi_tracker.lifecycle import transition
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.queries import find_task
from services.rhi_tracker.schemas import CompleteIn, DeclineIn, NotOfferedIn, NotPossibleIn, OfferIn
from services.rhi_tracker.states import Action
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import Conflict, InvalidInput
from shared.events.payloads.rhi import (
    RhiInterviewCompleted,
    RhiInterviewDeclined,
    RhiInterviewNotOffered,
    RhiInterviewNotPossible,
    RhiInterviewOffered,
)


@dataclass(frozen=True)
class Precondition:
    """The version a change was made against: If-Match (stale: 412) or expected_version in the body (stale: 409)."""

    if_match: str | None
    expected_version: int | None

    def check(self, version: int) -> None:
        """Pass if the task is still at the version the caller saw; one of the two is required (428)."""
        stale = f"the task is at version {version}, not %s: someone changed it; read it again"
        if self.if_match is not None:
            tags = [t.strip().removeprefix("W/").strip('"') for t in self.if_match.split(",")]
            if len(tags) != 1 or not tags[0].isdigit():
                raise PreconditionFailed(
                    f'If-Match must name one task version as an ETag, e.g. "3"; got {self.if_match!r}'
                )
            if int(tags[0]) != version:
                raise PreconditionFailed(stale % tags[0])
            return
        if self.expected_version is None:
            raise PreconditionRequired(
                "say which version of the task this change was made against: If-Match (the ETag of the task) "
                "or expected_version in the body"
            )
        if self.expected_version != version:
            raise Conflict(stale % self.expected_version)


@dataclass(frozen=True)
class Actor:
    """Who acts (their principal) and when, by the process clock."""

    principal: Principal
    clock: Clock
    skew: timedelta


async def _begin(session: AsyncSession, actor: Actor, task_id: str, want: Precondition) -> tuple[Task, TrackedEpisode]:
    task, episode = await find_task(session, la=actor.principal.tenant, task_id=task_id, lock=True)
    want.check(task.version)  # after the lookup: another authority's task is a 404 whatever the header says
    return task, episode


def _when(value: datetime | None, pointer: str, task: Task, now: datetime, skew: timedelta) -> datetime:
    """A time a person gave: not before the return, not in the future; default now."""
    when = value or now
    if when < task.returned_at:
        raise InvalidInput(
            "1 field(s) failed validation", errors=[{"pointer": pointer, "message": "before the return"}]
        )
    if when > now + skew:
        raise InvalidInput("1 field(s) failed validation", errors=[{"pointer": pointer, "message": "in the future"}])
    return when


async def offer(session: AsyncSession, *, actor: Actor, task_id: str, body: OfferIn, want: Precondition) -> Task:
    """Record that the interview was offered."""
    task, episode = await _begin(session, actor, task_id, want)
    now = actor.clock.now()
    offered_at = _when(body.offered_at, "/offered_at", task, now, actor.skew)
    transition(task, Action.OFFER, now)
    task.offered_at, task.offer_method = offered_at, body.method
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiInterviewOffered,
        at=now,
        clock=actor.clock,
        actor=actor.principal.key_id,
        reason=body.reason,
        offered_at=offered_at,
        method=body.method,
    )
    return task


async def complete(session: AsyncSession, *, actor: Actor, task_id: str, body: CompleteIn, want: Precondition) -> Task:
    """Record the interview with its findings; on time iff it took place by the due time."""
    task, episode = await _begin(session, actor, task_id, want)
    now = actor.clock.now()
    completed_at = _when(body.completed_at, "/completed_at", task, now, actor.skew)
    transition(task, Action.COMPLETE, now)
    task.completed_at, task.on_time = completed_at, completed_at <= task.due_at
    task.offered_at = task.offered_at or completed_at  # an interview that took place was offered
    task.findings = body.findings.model_dump(mode="json")
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiInterviewCompleted,
        at=now,
        clock=actor.clock,
        actor=actor.principal.key_id,
        reason=body.reason,
        completed_at=completed_at,
        on_time=task.on_time,
        findings=body.findings,
    )
    return task


async def decline(session: AsyncSession, *, actor: Actor, task_id: str, body: DeclineIn, want: Precondition) -> Task:
    """Record that the child declined, after how many offers."""
    task, episode = await _begin(session, actor, task_id, want)
    now = actor.clock.now()
    transition(task, Action.DECLINE, now)
    task.offered_at = task.offered_at or now  # a child declines an offer
    task.outcome_reason, task.outcome = body.reason, {"attempts": body.attempts}
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiInterviewDeclined,
        at=now,
        clock=actor.clock,
        actor=actor.principal.key_id,
        reason=body.reason,
        attempts=body.attempts,
    )
    return task


async def not_possible(
    session: AsyncSession, *, actor: Actor, task_id: str, body: NotPossibleIn, want: Precondition
) -> Task:
    """Record that the interview could not take place, and why."""
    task, episode = await _begin(session, actor, task_id, want)
    now = actor.clock.now()
    transition(task, Action.NOT_POSSIBLE, now)
    task.outcome_reason = body.reason
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiInterviewNotPossible,
        at=now,
        clock=actor.clock,
        actor=actor.principal.key_id,
        reason=body.reason,
    )
    return task


async def not_offered(
    session: AsyncSession, *, actor: Actor, task_id: str, body: NotOfferedIn, want: Precondition
) -> Task:
    """Record a manager's decision not to offer an interview: who decided and why."""
    task, episode = await _begin(session, actor, task_id, want)
    now = actor.clock.now()
    transition(task, Action.NOT_OFFER, now)
    task.outcome_reason = body.reason
    task.outcome = {"decided_by": body.decided_by, "reason_code": body.reason_code.value}
    emit(
        session,
        task=task,
        episode=episode,
        event=RhiInterviewNotOffered,
        at=now,
        clock=actor.clock,
        actor=actor.principal.key_id,
        reason=body.reason,
        decided_by=body.decided_by,
        reason_code=body.reason_code,
    )
    return task
