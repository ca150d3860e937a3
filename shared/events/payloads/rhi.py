"""Events the RHI tracker publishes on the `rhi` topic (key: episode id).

Every task event carries the task's identity, owner and child, so a notice can be built from the
event alone; each audience's field set then picks what it may see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from shared.events.codes import (
    Classification,
    ExploitationIndicator,
    NotOfferedReason,
    PlaceType,
    PullFactor,
    PushFactor,
    TransportMode,
)
from shared.events.payloads.base import ChildRecord, Frozen, LaCode, LongText, Payload, ShortText

TOPIC = "rhi"


class TaskEvent(Payload):
    """What every task event says: which task, whose, about which child, who did it, when and why."""

    TOPIC = TOPIC

    task_id: str
    episode_id: str
    force: str
    police_reference: str
    responsible_la: LaCode
    host_la: LaCode | None = None
    child: ChildRecord
    returned_at: AwareDatetime
    due_at: AwareDatetime
    at: AwareDatetime  # when the transition happened (recorded time, from the clock)
    actor: str | None = None  # API key id of the person; None when the system did it
    reason: str | None = None


class RhiTaskOpened(TaskEvent):
    """An interview task was opened for a returned child, due `due_at`."""

    EVENT_TYPE = "rhi.opened"

    classification: Classification | None = None


class RhiReminderDue(TaskEvent):
    """A reminder point (e.g. 24 h after return) passed with the interview not yet done."""

    EVENT_TYPE = "rhi.reminder"

    after_return: timedelta  # which reminder: the offset from the return


class RhiTaskBreached(TaskEvent):
    """The deadline passed without a completed interview; sent exactly once per task."""

    EVENT_TYPE = "rhi.breached"

    status: str  # the task's state when it breached (open or offered)


class RhiTaskEscalated(TaskEvent):
    """A configured escalation step after a breach was reached."""

    EVENT_TYPE = "rhi.escalated"

    step: str
    after_breach: timedelta


class RhiInterviewOffered(TaskEvent):
    """An interview was offered to the child."""

    EVENT_TYPE = "rhi.offered"

    offered_at: AwareDatetime
    method: ShortText | None = None


class Place(Frozen):
    """A place the child went to."""

    type: PlaceType
    description: ShortText
    postcode: ShortText | None = None


class PersonWith(Frozen):
    """Someone the child was with (no names required; a description is enough)."""

    description: ShortText
    relationship: ShortText | None = None
    approximate_age: Annotated[int, Field(ge=0, le=120)] | None = None


class Referral(Frozen):
    """An action agreed or a referral made after the interview."""

    action: ShortText
    referred_to: ShortText | None = None


class Findings(Frozen):
    """What the interview found, as data that can reach the child's plan and the MSET list."""

    push_factors: tuple[PushFactor, ...] = ()
    pull_factors: tuple[PullFactor, ...] = ()
    factors_detail: LongText | None = None
    places: tuple[Place, ...] = ()
    people_with: tuple[PersonWith, ...] = ()
    transport: tuple[TransportMode, ...] = ()
    harm_disclosed: bool = False
    harm_detail: LongText | None = None
    exploitation_indicators: tuple[ExploitationIndicator, ...] = ()
    child_words: LongText | None = None
    actions: tuple[Referral, ...] = ()
    shared_with: tuple[ShortText, ...] = ()
    interviewer_independent: bool
    child_preference: LongText | None = None  # required when the interviewer was not independent

    @model_validator(mode="after")
    def _preference_when_not_independent(self) -> Findings:
        if not self.interviewer_independent and self.child_preference is None:
            raise ValueError(
                "child_preference is required when the interviewer was not independent of the child's care"
            )
        return self


class RhiInterviewCompleted(TaskEvent):
    """The interview took place; `on_time` is completed_at <= due_at."""

    EVENT_TYPE = "rhi.completed"

    completed_at: AwareDatetime
    on_time: bool
    findings: Findings


class RhiInterviewDeclined(TaskEvent):
    """The child declined the interview."""

    EVENT_TYPE = "rhi.declined"

    attempts: Annotated[int, Field(ge=1)]


class RhiInterviewNotPossible(TaskEvent):
    """The interview could not take place (e.g. the child went missing again)."""

    EVENT_TYPE = "rhi.not_possible"


class RhiInterviewNotOffered(TaskEvent):
    """A manager decided not to offer an interview; the decision is recorded with its reason."""

    EVENT_TYPE = "rhi.not_offered"

    decided_by: ShortText
    reason_code: NotOfferedReason | None = None  # the coded reason the reports count; `reason` says more


class RhiTaskSuperseded(TaskEvent):
    """The child went missing again before the interview; the new episode's task covers both."""

    EVENT_TYPE = "rhi.superseded"

    superseded_by_episode_id: str


class RhiTaskCancelled(TaskEvent):
    """The episode was cancelled (reported in error), so its task was too."""

    EVENT_TYPE = "rhi.cancelled"


class RhiDueChanged(TaskEvent):
    """A corrected return time moved the deadline; `due_at` is the new one."""

    EVENT_TYPE = "rhi.due_changed"

    previous_returned_at: AwareDatetime
    previous_due_at: AwareDatetime
    status: str | None = None  # the task's state when the due time moved
    on_time: bool | None = None  # for a completed task: whether it is on time against the new due time


class RhiTaskReassigned(TaskEvent):
    """The police corrected the responsible or host authority; the open task moved with it."""

    EVENT_TYPE = "rhi.reassigned"

    previous_responsible_la: LaCode
    previous_host_la: LaCode | None = None


EVENTS: tuple[type[Payload], ...] = (
    RhiTaskOpened,
    RhiReminderDue,
    RhiTaskBreached,
    RhiTaskEscalated,
    RhiInterviewOffered,
    RhiInterviewCompleted,
    RhiInterviewDeclined,
    RhiInterviewNotPossible,
    RhiInterviewNotOffered,
    RhiTaskSuperseded,
    RhiTaskCancelled,
    RhiDueChanged,
    RhiTaskReassigned,
)

# The task's status after each event, for consumers that follow it; the events not listed (reminder,
# breach, escalation, due time or owner moved) leave the status as it was.
STATUS_AFTER: dict[str, str] = {
    RhiTaskOpened.EVENT_TYPE: "open",
    RhiInterviewOffered.EVENT_TYPE: "offered",
    RhiInterviewCompleted.EVENT_TYPE: "completed",
    RhiInterviewDeclined.EVENT_TYPE: "declined",
    RhiInterviewNotPossible.EVENT_TYPE: "not_possible",
    RhiInterviewNotOffered.EVENT_TYPE: "not_offered",
    RhiTaskSuperseded.EVENT_TYPE: "superseded",
    RhiTaskCancelled.EVENT_TYPE: "cancelled",
}
