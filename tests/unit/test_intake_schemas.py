"""Validation of the intake API's episode report body."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.schemas import EpisodeReport, EpisodeReturn
from shared.events.codes import RiskGrade

FULLWIDTH_CODE = "E" + "".join(chr(0xFF10 + int(d)) for d in "06000002")
EXAMPLE: dict[str, Any] = EpisodeReport.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]


def report(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    child = changes.pop("child", {})
    body.update(changes)
    body["child"].update(child)
    return body


def test_example_is_valid() -> None:
    parsed = EpisodeReport.model_validate(EXAMPLE)
    assert parsed.risk_grade is RiskGrade.NO_APPARENT_RISK
    assert parsed.child.responsible_la == "E06000002"
    assert parsed.reported_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report(reported_at="2026-03-06T22:40:00"), "reported_at"),
        (report(risk_grade="purple"), "risk_grade"),
        (report(child={"responsible_la": "E0600000"}), "responsible_la"),
        (report(child={"responsible_la": "X06000002"}), "responsible_la"),
        (report(child={"responsible_la": "E060000021"}), "responsible_la"),
        (report(child={"host_la": "e06000002"}), "host_la"),
        (report(child={"school_urn": "12345"}), "school_urn"),
        (report(child={"given_name": "   "}), "given_name"),
        (report(child={"family_name": ""}), "family_name"),
        (report(child={"given_name": "x" * 101}), "given_name"),
        (report(police_reference=" "), "police_reference"),
        (report(risk="high"), "risk"),
        (report(child={"nickname": "M"}), "nickname"),
    ],
)
def test_invalid_reports(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EpisodeReport.model_validate(body)
    assert field in {str(part) for error in exc.value.errors() for part in error["loc"]}


def test_names_are_stripped() -> None:
    parsed = EpisodeReport.model_validate(report(child={"given_name": "  Mia ", "family_name": "\tExample\n"}))
    assert (parsed.child.given_name, parsed.child.family_name) == ("Mia", "Example")


@pytest.mark.parametrize("grade", [g.value for g in RiskGrade])
def test_every_risk_grade_is_accepted(grade: str) -> None:
    assert EpisodeReport.model_validate(report(risk_grade=grade)).risk_grade == grade


def test_non_ascii_digits_in_la_code_rejected() -> None:
    with pytest.raises(ValidationError):
        EpisodeReport.model_validate(report(child={"responsible_la": FULLWIDTH_CODE}))


def test_return_requires_aware_time() -> None:
    assert EpisodeReturn.model_validate({"returned_at": "2026-03-07T01:10:00Z"}).returned_at.utcoffset() is not None
    with pytest.raises(ValidationError):
        EpisodeReturn.model_validate({"returned_at": "2026-03-07T01:10:00"})
