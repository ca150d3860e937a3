"""Event payloads: one frozen model per event type and version, named as past facts."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every payload; subclasses set EVENT_TYPE and VERSION."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    EVENT_TYPE: ClassVar[str]
    VERSION: ClassVar[str] = "1"


class RiskGrade(StrEnum):
    """Police risk grades; `absent` is the pre-2017 grade some feeds still send."""

    NO_APPARENT_RISK = "no_apparent_risk"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    ABSENT = "absent"


class Classification(StrEnum):
    """The classifier's decision."""

    MISSING = "missing"
    ABSENT = "absent"


class ChildRecord(BaseModel):
    """The minimal child record carried on internal topics (never in keys or headers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: str
    family_name: str
    date_of_birth: date
    responsible_la: str
    host_la: str | None = None
    looked_after: bool = False
    school_urn: str | None = None


class EpisodeReported(Payload):
    """Police reported a child missing."""

    EVENT_TYPE = "episode.reported"

    episode_id: str
    force: str
    police_reference: str
    reported_at: AwareDatetime
    risk_grade: RiskGrade
    child: ChildRecord


class EpisodeReturned(Payload):
    """Police recorded that the child returned or was found."""

    EVENT_TYPE = "episode.returned"

    episode_id: str
    force: str
    police_reference: str
    returned_at: AwareDatetime


class EpisodeClassified(Payload):
    """The classifier decided missing or absent for an episode."""

    EVENT_TYPE = "episode.classified"

    episode_id: str
    classification: Classification
    rule_ids: tuple[str, ...]
    ruleset_version: str
    decided_at: AwareDatetime


class RhiTaskOpened(Payload):
    """A return home interview task was opened for a returned child."""

    EVENT_TYPE = "rhi.opened"

    task_id: str
    episode_id: str
    force: str
    police_reference: str
    responsible_la: str
    host_la: str | None
    child: ChildRecord
    returned_at: AwareDatetime
    due_at: AwareDatetime


class NotificationDelivered(Payload):
    """A notice reached its recipient."""

    EVENT_TYPE = "notification.delivered"

    delivery_id: str
    event_id: str
    event_type: str
    recipient_id: str
    channel: str
    attempts: int


class NotificationFailed(Payload):
    """A notice could not be delivered within its retry budget."""

    EVENT_TYPE = "notification.failed"

    delivery_id: str
    event_id: str
    event_type: str
    recipient_id: str
    channel: str
    attempts: int
    reason: str
