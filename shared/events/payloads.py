"""Event payloads: one frozen model per event type and version, named as past facts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.events.codes import (
    CancelReason,
    Classification,
    PlacementType,
    ReporterType,
    ReturnedBy,
    RiskFactor,
    RiskGrade,
    Sex,
    UpdateKind,
    WarningMarker,
)

__all__ = ["Classification", "RiskGrade"]
POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"


class Payload(BaseModel):
    """Base of every payload; subclasses set EVENT_TYPE and VERSION."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    EVENT_TYPE: ClassVar[str]
    VERSION: ClassVar[str] = "1"


LA_CODE = r"^[EW][0-9]{8}$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
LaCode = Annotated[str, Field(pattern=LA_CODE, description="ONS local-authority code, e.g. E06000002")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]


class Frozen(BaseModel):
    """Immutable, and unknown fields are errors (so a typo is never silently dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ChildRecord(Frozen):
    """The child as the police know them; carried on internal topics, never in keys or headers."""

    police_person_id: ShortText | None = None
    given_name: Name
    family_name: Name
    aliases: Annotated[tuple[Name, ...], Field(max_length=10)] = ()
    date_of_birth: date
    sex: Sex = Sex.UNKNOWN
    ethnicity: Annotated[str, Field(pattern=r"^[A-Z][0-9]?$", description="ONS 2021 code, e.g. W1, A2")] | None = None
    postcode: Annotated[str, Field(pattern=POSTCODE, description="UK postcode, e.g. TS1 2AB")] | None = None
    responsible_la: LaCode
    host_la: LaCode | None = None
    looked_after: bool = False
    placement_type: PlacementType | None = None
    child_protection_plan: bool = False
    child_in_need: bool = False
    school_urn: Annotated[str, Field(pattern=r"^[0-9]{6,7}$", description="DfE unique reference number")] | None = None
    warning_markers: Annotated[tuple[WarningMarker, ...], Field(max_length=len(WarningMarker))] = ()


class Provenance(Frozen):
    """Which police system supplied the data, and who in it."""

    source_system: ShortText | None = None
    source_record_id: ShortText | None = None
    submitted_by: ShortText | None = None


class EpisodeSnapshot(Payload):
    """The whole current record of an episode at one version."""

    episode_id: str
    force: str
    police_reference: str
    version: int = 1
    reported_at: AwareDatetime
    last_seen_at: AwareDatetime | None = None
    last_seen_location: str | None = None
    whereabouts_known: bool = False
    risk_grade: RiskGrade
    police_category: str | None = None
    risk_factors: tuple[RiskFactor, ...] = ()
    circumstances: str | None = None
    reporter_type: ReporterType | None = None
    reporting_agency: str | None = None
    provenance: Provenance = Provenance()
    child: ChildRecord


class EpisodeReported(EpisodeSnapshot):
    """Police reported a child missing (version 1 of the episode)."""

    EVENT_TYPE = "episode.reported"


class EpisodeUpdated(EpisodeSnapshot):
    """Police changed an episode: a re-grade, new information or a correction; carries the whole new version."""

    EVENT_TYPE = "episode.updated"

    kind: UpdateKind
    reason: str
    changed_fields: tuple[str, ...]
    updated_at: AwareDatetime


class EpisodeReturned(Payload):
    """Police recorded that the child returned or was found."""

    EVENT_TYPE = "episode.returned"

    episode_id: str
    force: str
    police_reference: str
    version: int = 1
    returned_at: AwareDatetime
    found_at: AwareDatetime | None = None
    return_location: str | None = None
    returned_by: ReturnedBy | None = None
    harm_disclosed: bool | None = None


class EpisodeCancelled(Payload):
    """Police cancelled an episode, e.g. reported in error."""

    EVENT_TYPE = "episode.cancelled"

    episode_id: str
    force: str
    police_reference: str
    version: int
    reason: CancelReason
    detail: str | None = None
    cancelled_at: AwareDatetime


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
