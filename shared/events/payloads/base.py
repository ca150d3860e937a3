"""What every event payload shares: the base model and the child record carried on internal topics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.codes import PlacementType, Sex, WarningMarker

LA_CODE = r"^[EW][0-9]{8}$"
POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
LaCode = Annotated[str, Field(pattern=LA_CODE, description="ONS local-authority code, e.g. E06000002")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=r"\S")]


class Frozen(BaseModel):
    """Immutable, and unknown fields are errors (so a typo is never silently dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Payload(Frozen):
    """Base of every payload; subclasses set EVENT_TYPE, TOPIC and (when it changes) VERSION."""

    EVENT_TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    VERSION: ClassVar[str] = "1"


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
