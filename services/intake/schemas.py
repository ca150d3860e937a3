"""Request and response bodies of the intake API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

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
from shared.events.payloads.base import POSTCODE, ChildRecord, LaCode, Name, ShortText
from shared.events.payloads.episode import Provenance

Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9/_.-]+$")
]
Location = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=r"\S")]
Circumstances = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=r"\S")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=r"\S")]

MAX_BATCH = 100
CHILD_EXAMPLE: dict[str, Any] = {
    "police_person_id": "CLE-P-778812",
    "given_name": "Mia",
    "family_name": "Example",
    "aliases": ["Mimi"],
    "date_of_birth": "2011-01-15",
    "sex": "female",
    "postcode": "TS1 2AB",
    "responsible_la": "E06000002",
    "looked_after": False,
    "school_urn": "111111",
    "warning_markers": [],
}
REPORT_EXAMPLE: dict[str, Any] = {
    "police_reference": "CLE-2026-000123",
    "reported_at": "2026-03-06T22:40:00Z",
    "last_seen_at": "2026-03-06T18:30:00Z",
    "last_seen_location": "Linthorpe Road, Middlesbrough",
    "whereabouts_known": True,
    "risk_grade": "no_apparent_risk",
    "risk_factors": [],
    "circumstances": "Did not come home after school; believed to be at a friend's house.",
    "reporter_type": "parent_or_carer",
    "provenance": {"source_system": "Niche", "submitted_by": "PC 1234"},
    "child": CHILD_EXAMPLE,
}


class Strict(BaseModel):
    """Request bodies reject unknown fields so a typo is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EpisodeReport(Strict):
    """A police report that a child is missing."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REPORT_EXAMPLE]})

    police_reference: Reference = Field(description="Unique within the force; the natural idempotency key.")
    reported_at: AwareDatetime
    last_seen_at: AwareDatetime | None = None
    last_seen_location: Location | None = None
    whereabouts_known: bool = False
    risk_grade: RiskGrade = Field(description="Legacy `absent` is accepted, stored as given and read as no risk.")
    police_category: ShortText | None = Field(default=None, description="The force's own category, if it sends one.")
    risk_factors: Annotated[list[RiskFactor], Field(max_length=len(RiskFactor))] = []
    circumstances: Circumstances | None = None
    reporter_type: ReporterType | None = None
    reporting_agency: ShortText | None = None
    provenance: Provenance = Provenance()
    child: ChildRecord


class ChildChanges(Strict):
    """Corrections or new facts about the child; only the fields sent change."""

    police_person_id: ShortText | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    aliases: Annotated[list[Name], Field(max_length=10)] | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    ethnicity: Annotated[str, Field(pattern=r"^[A-Z][0-9]?$")] | None = None
    postcode: Annotated[str, Field(pattern=POSTCODE)] | None = None
    responsible_la: LaCode | None = None
    host_la: LaCode | None = None
    looked_after: bool | None = None
    placement_type: PlacementType | None = None
    child_protection_plan: bool | None = None
    child_in_need: bool | None = None
    school_urn: Annotated[str, Field(pattern=r"^[0-9]{6,7}$")] | None = None
    warning_markers: Annotated[list[WarningMarker], Field(max_length=len(WarningMarker))] | None = None


class EpisodeUpdate(Strict):
    """A re-grade, new information or a correction; only the fields sent change; every version is kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "regrade",
                    "reason": "Seen getting into a car with older males",
                    "expected_version": 1,
                    "risk_grade": "high",
                    "risk_factors": ["exploitation_concern", "with_unknown_adult"],
                    "whereabouts_known": False,
                }
            ]
        },
    )

    kind: UpdateKind
    reason: Reason
    expected_version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="If given, the update is refused (409) unless this is the current version."
    )
    last_seen_at: AwareDatetime | None = None
    last_seen_location: Location | None = None
    whereabouts_known: bool | None = None
    risk_grade: RiskGrade | None = None
    police_category: ShortText | None = None
    risk_factors: Annotated[list[RiskFactor], Field(max_length=len(RiskFactor))] | None = None
    circumstances: Circumstances | None = None
    reporter_type: ReporterType | None = None
    reporting_agency: ShortText | None = None
    provenance: Provenance | None = None
    child: ChildChanges | None = None


class EpisodeReturn(Strict):
    """The child returned or was found."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "returned_at": "2026-03-07T01:10:00Z",
                    "found_at": "2026-03-07T00:50:00Z",
                    "return_location": "Home address",
                    "returned_by": "found_by_police",
                    "harm_disclosed": False,
                }
            ]
        },
    )

    returned_at: AwareDatetime = Field(description="When the child was back home or in care; starts the 72 hours.")
    found_at: AwareDatetime | None = None
    return_location: Location | None = None
    returned_by: ReturnedBy | None = None
    harm_disclosed: bool | None = None
    correction_reason: Reason | None = Field(
        default=None,
        description="Send with a changed return to correct one already recorded (e.g. the wrong time): the "
        "interview deadline moves with it, and the correction is kept with who, when and why.",
    )


class EpisodeCancel(Strict):
    """Cancel an episode reported in error."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "reported_in_error", "detail": "Child was on a school trip"}]},
    )

    reason: CancelReason
    detail: Reason | None = None


class VersionOut(BaseModel):
    """One version of an episode's record: who changed what, when and why."""

    version: int
    kind: str
    recorded_at: datetime
    recorded_by: str = Field(description="The API key id that made the change.")
    reason: str | None
    changed_fields: list[str]
    provenance: Provenance
    record: dict[str, Any]


class ClassificationOut(BaseModel):
    """The classifier's latest decision, as intake last heard of it."""

    classification: Classification
    rule_ids: list[str]
    reasons: list[str] = Field(default=[], description="Why, one plain-English line per rule id.")
    ruleset_version: str
    decided_at: datetime
    trigger: str | None = Field(default=None, description="reported, updated, still_open or correction.")


class RhiOut(BaseModel):
    """The return home interview task, as intake last heard of it."""

    task_id: str
    status: str = Field(description="open, offered, completed, declined, not_possible, not_offered, superseded, …")
    due_at: datetime
    breached: bool = Field(default=False, description="The 72 hours passed without a completed interview.")
    completed_on_time: bool | None = None


class EpisodeSummary(BaseModel):
    """An episode in a list."""

    id: str
    force: str
    police_reference: str
    status: str
    version: int
    risk_grade: RiskGrade
    reported_at: datetime
    returned_at: datetime | None
    classification: Classification | None


class EpisodeOut(EpisodeSummary):
    """An episode with its current record, versions, classification and RHI status."""

    risk_grade_mapped: RiskGrade = Field(description="The grade in current practice: legacy `absent` reads as NAR.")
    cancelled_at: datetime | None
    record: dict[str, Any]
    return_details: dict[str, Any] | None
    cancellation: dict[str, Any] | None
    versions: list[VersionOut]
    classification_detail: ClassificationOut | None
    rhi: RhiOut | None


class EpisodePage(BaseModel):
    """A page of episodes; pass `next_cursor` as `cursor` for the next page."""

    items: list[EpisodeSummary]
    next_cursor: str | None


class BatchOperation(BaseModel):
    """One operation of a batch; its body is validated on its own, so one bad item fails only itself."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["report", "update", "return", "cancel"]
    episode_id: str | None = Field(default=None, description="Required for update, return and cancel.")
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    body: dict[str, Any]


class Batch(BaseModel):
    """Up to MAX_BATCH operations, applied in order, each all-or-nothing on its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operations": [
                        {"op": "report", "idempotency_key": "niche-5501", "body": REPORT_EXAMPLE},
                        {
                            "op": "return",
                            "episode_id": "6f1c0e7a-0000-4000-8000-000000000001",
                            "body": {"returned_at": "2026-03-07T01:10:00Z"},
                        },
                    ]
                }
            ]
        },
    )

    operations: Annotated[list[BatchOperation], Field(min_length=1, max_length=MAX_BATCH)]


class BatchResult(BaseModel):
    """The outcome of one batch operation: the status and body it would have had on its own."""

    index: int
    status: int
    body: dict[str, Any]


class BatchOut(BaseModel):
    """One result per operation, in order."""

    results: list[BatchResult]
