"""Request and response bodies of the RHI tracker API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from services.rhi_tracker.states import Status
from shared.events.codes import Classification, NotOfferedReason
from shared.events.payloads.base import ChildRecord, Name, ShortText
from shared.events.payloads.rhi import Findings

NUMBER = re.compile(r"\s*[-+]?[0-9]+(\.[0-9]*)?\s*")


def _text_only(value: object) -> object:
    """Refuse numbers (pydantic would read them as Unix times): instants and days are ISO 8601 text."""
    if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-03-06T10:00:00Z")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_text_only)]
Day = Annotated[date, BeforeValidator(_text_only)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=r"\S")]
Version = Annotated[
    int | None,
    Field(default=None, ge=1, description="The task version the change was made against (or send If-Match)."),
]
FINDINGS_EXAMPLE: dict[str, Any] = {
    "push_factors": ["placement_unhappy"],
    "pull_factors": ["older_adults"],
    "factors_detail": "Says older lads give him lifts and cannabis.",
    "places": [{"type": "flat_or_house", "description": "a flat in town"}],
    "people_with": [{"description": "two men in their twenties", "approximate_age": 25}],
    "transport": ["car_with_adult"],
    "harm_disclosed": False,
    "exploitation_indicators": ["cse", "drugs"],
    "child_words": "They're my mates, they look after me.",
    "actions": [{"action": "Referral to MSET", "referred_to": "MSET coordinator"}],
    "shared_with": ["social worker", "MSET"],
    "interviewer_independent": True,
}


class Strict(BaseModel):
    """Request bodies reject unknown fields so a typo is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class OfferIn(Strict):
    """An interview was offered to the child."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"method": "phone call to carer", "expected_version": 1}]}
    )

    offered_at: Instant | None = Field(default=None, description="When it was offered; default now.")
    method: ShortText | None = None
    reason: Reason | None = None
    expected_version: Version = None


class CompleteIn(Strict):
    """The interview took place; findings are structured so they can reach the child's plan."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"completed_at": "2026-03-06T15:00:00Z", "findings": FINDINGS_EXAMPLE, "expected_version": 2}]
        },
    )

    completed_at: Instant | None = Field(default=None, description="When the interview took place; default now.")
    findings: Findings
    reason: Reason | None = None
    expected_version: Version = None


class DeclineIn(Strict):
    """The child declined the interview."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Does not want to talk to anyone", "attempts": 3}]},
    )

    reason: Reason
    attempts: Annotated[int, Field(ge=1, le=100, description="How many times it was offered.")]
    expected_version: Version = None


class NotPossibleIn(Strict):
    """The interview could not take place."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Child in hospital"}]})

    reason: Reason
    expected_version: Version = None


class NotOfferedIn(Strict):
    """A manager decided not to offer an interview; who decided and why are recorded."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "Interviewed yesterday after the previous episode; key worker following up",
                    "reason_code": "recent_interview_covers",
                    "decided_by": "Team manager, Missing from Home team",
                }
            ]
        },
    )

    reason: Reason
    reason_code: NotOfferedReason = NotOfferedReason.OTHER
    decided_by: ShortText
    expected_version: Version = None


class ChildBrief(BaseModel):
    """Enough of the child to find them on a worklist."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    looked_after: bool


class TaskSummary(BaseModel):
    """A task on the worklist; times are UTC, `due_local` is the deadline in Europe/London."""

    id: str
    episode_id: str
    force: str
    police_reference: str
    status: Status
    version: int
    responsible_la: str
    host_la: str | None
    child: ChildBrief
    returned_at: datetime
    due_at: datetime
    due_local: str = Field(description="The deadline in Europe/London, e.g. 2026-03-30T11:00:00+01:00.")
    breached_at: datetime | None
    offered_at: datetime | None
    completed_at: datetime | None
    on_time: bool | None


class Outcome(BaseModel):
    """Why a task closed without an interview, and the details recorded with it."""

    reason: str | None
    attempts: int | None = None
    decided_by: str | None = None
    reason_code: NotOfferedReason | None = None


class HistoryOut(BaseModel):
    """One transition: the event it emitted, who (API key id; null for the system), when, why."""

    event_type: str
    at: datetime
    actor: str | None
    reason: str | None
    detail: dict[str, Any]


class TaskOut(TaskSummary):
    """A task with its findings, outcome, deadline markers and history."""

    child_record: ChildRecord
    classification: Classification | None
    opened_at: datetime
    updated_at: datetime
    offer_method: str | None
    findings: Findings | None
    outcome: Outcome | None
    superseded_by_episode_id: str | None
    reminders_sent: int
    escalations_sent: int
    history: list[HistoryOut]


class TaskPage(BaseModel):
    """One page of the worklist, soonest due first."""

    items: list[TaskSummary]
    next_cursor: str | None


class Measure(BaseModel):
    """A count of incidents and of distinct children, each also as a percentage of the split's total."""

    incidents: int
    children: int
    pct_of_incidents: float | None
    pct_of_children: float | None


class SplitFigures(BaseModel):
    """Every measure for one split (all, looked after or not, in or out of area)."""

    incidents: int
    children: int
    measures: dict[str, Measure]


class AuthorityReport(BaseModel):
    """One local authority's figures for the period."""

    la: str
    name: str | None
    splits: dict[str, SplitFigures]


class ReportOut(BaseModel):
    """Figures for each local authority over [period_start, period_end] (Europe/London dates, inclusive)."""

    period_start: date
    period_end: date
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    authorities: list[AuthorityReport]
    definitions: dict[str, str]


class Lag(BaseModel):
    """Sweeper lag (breach recorded minus due) over the breaches recorded in the window, in seconds."""

    breaches: int
    p50_seconds: float | None
    p99_seconds: float | None
    max_seconds: float | None


class OldestBreach(BaseModel):
    """The longest-overdue open task (ids only: no child details in the ops view)."""

    task_id: str
    episode_id: str
    due_at: datetime
    overdue_hours: float


class AuthoritySla(BaseModel):
    """One local authority's interview deadlines right now."""

    la: str
    name: str | None
    open: int = Field(description="Tasks not yet done (open or offered).")
    offered: int
    due_within_12h: int
    breached: int = Field(description="Open or offered tasks past their deadline.")
    oldest_breach: OldestBreach | None
    sweeper_lag: Lag


class SlaOut(BaseModel):
    """The partnership's interview deadlines per local authority; no child names or dates of birth."""

    partnership: str
    generated_at: datetime
    lag_window_hours: float
    authorities: list[AuthoritySla]
    sweeper_lag: Lag
