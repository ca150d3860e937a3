"""Bodies of the MSET and child APIs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.codes import Classification

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
CHILD_ID = "4b1f0c2e-8a55-4a5e-9a0e-3f2d6f1c9b10"
EPISODE_ID = "9c7d4c1e-2f0a-4c8e-b4a5-0d9e1f2a3b4c"


class Sort(StrEnum):
    """Orders of the MSET list; a leading '-' is descending. Ties break on the child id."""

    LAST_REPORTED_DESC = "-last_reported_at"
    LAST_REPORTED = "last_reported_at"
    EPISODES_DESC = "-episodes_in_window"
    EPISODES = "episodes_in_window"
    NAME = "family_name"
    NAME_DESC = "-family_name"


class RhiView(BaseModel):
    """The child's latest return home interview task, from the tracker's events."""

    episode_id: str
    task_id: str
    status: str = Field(description="open, offered, breached, completed, declined, not_possible, ...")
    due_at: datetime
    on_time: bool | None = Field(None, description="completed within 72 hours; null until completed")


class Themes(BaseModel):
    """What interviews found, newest first, without repeats."""

    push_factors: list[str] = []
    pull_factors: list[str] = []
    exploitation_indicators: list[str] = []
    places: list[str] = []


class ChildRow(BaseModel):
    """One child on the MSET list."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "child_id": CHILD_ID,
                "given_name": "Leah",
                "family_name": "Example",
                "date_of_birth": "2013-01-20",
                "responsible_la": "E06000002",
                "host_la": None,
                "looked_after": False,
                "out_of_area": False,
                "markers": ["cse"],
                "rules": ["repeat-3-in-30-days"],
                "episodes_in_window": 3,
                "episode_count": 3,
                "last_reported_at": "2026-03-24T17:00:00Z",
                "last_returned_at": "2026-03-25T09:00:00Z",
                "rhi": None,
                "themes": {"push_factors": [], "pull_factors": ["older_adults"], "places": ["a flat in town"]},
            }
        }
    )

    child_id: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    responsible_la: str | None
    host_la: str | None
    looked_after: bool
    out_of_area: bool = Field(description="placed in another local authority than the responsible one")
    markers: list[str] = Field(description="warning markers of any live episode; exploitation_concern if recorded")
    rules: list[str] = Field(description="the repeat-missing rules the child meets now")
    episodes_in_window: int
    episode_count: int
    last_reported_at: datetime | None
    last_returned_at: datetime | None
    rhi: RhiView | None
    themes: Themes


class ChildPage(BaseModel):
    """A page of the MSET list."""

    items: list[ChildRow]
    total: int
    limit: int
    offset: int


class EpisodeView(BaseModel):
    """One episode of a child, with its current classification."""

    episode_id: str
    force: str
    police_reference: str
    risk_grade: str
    reported_at: datetime
    returned_at: datetime | None
    cancelled_at: datetime | None
    classification: Classification
    linked_by: str = Field(description="matcher or manual")


class LinkView(BaseModel):
    """One entry of the identity audit trail."""

    episode_id: str
    child_id: str
    previous_child_id: str | None
    action: str
    method: str
    actor: str | None
    reason: str | None
    at: datetime


class ChildOut(ChildRow):
    """A child with every episode and the audit trail of its links."""

    episodes: list[EpisodeView]
    links: list[LinkView]


class TimelineEntry(BaseModel):
    """One thing that happened to the child, in time order."""

    at: datetime
    kind: str = Field(description="episode.*, episode.classified/reclassified, child.*, rhi.*, notification.*")
    episode_id: str | None
    summary: str
    detail: dict[str, Any] = {}


class Timeline(BaseModel):
    """Every episode, classification, link, interview task event and notification of a child."""

    child_id: str
    items: list[TimelineEntry]


class LinkIn(BaseModel):
    """Link an episode to this child."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"episode_id": EPISODE_ID, "reason": "same child, per school"}}
    )

    episode_id: str
    reason: Reason


class UnlinkOut(BaseModel):
    """The episode now belongs to a child of its own."""

    episode_id: str
    child_id: str
    previous_child_id: str


class CorrectionIn(BaseModel):
    """Correct an episode's classification; the earlier decisions stay in the history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"classification": "missing", "reason": "known CSE risk not on the record"}},
    )

    classification: Classification
    reason: Reason


class DecisionOut(BaseModel):
    """One decision of the history."""

    decision_id: str
    episode_id: str
    child_id: str
    classification: Classification
    previous_classification: Classification | None
    rule_ids: list[str]
    reasons: list[str]
    ruleset_version: str
    trigger: str
    reason: str | None
    actor: str | None
    decided_at: datetime


class EpisodeDecisions(BaseModel):
    """An episode's child and every decision on it, oldest first (the first is never overwritten)."""

    episode_id: str
    child_id: str
    classification: Classification
    decisions: list[DecisionOut]
