"""Request and response bodies of the intake API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.events.payloads import RiskGrade
from shared.policy import LA_CODE

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
LaCode = Annotated[str, Field(pattern=LA_CODE, description="ONS code, e.g. E06000002")]


class Strict(BaseModel):
    """Request bodies reject unknown fields so typos are not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ChildIn(Strict):
    """The minimal child record."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    responsible_la: LaCode
    host_la: LaCode | None = None
    looked_after: bool = False
    school_urn: Annotated[str, Field(pattern=r"^[0-9]{6,7}$")] | None = None


class EpisodeReport(Strict):
    """A police report that a child is missing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "police_reference": "NB-2026-000123",
                    "reported_at": "2026-03-06T22:40:00+00:00",
                    "risk_grade": "medium",
                    "child": {
                        "given_name": "Mia",
                        "family_name": "Example",
                        "date_of_birth": "2011-01-15",
                        "responsible_la": "E06000002",
                    },
                }
            ]
        },
    )

    police_reference: Reference
    reported_at: AwareDatetime
    risk_grade: RiskGrade
    child: ChildIn


class EpisodeReturn(Strict):
    """The child returned or was found."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"returned_at": "2026-03-07T01:10:00Z"}]})

    returned_at: AwareDatetime


class EpisodeOut(BaseModel):
    """An episode as intake holds it."""

    id: str
    force: str
    police_reference: str
    status: str
    risk_grade: str
    reported_at: datetime
    returned_at: datetime | None
