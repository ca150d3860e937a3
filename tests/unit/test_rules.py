"""The classifier's rule set: no apparent risk is absent, every other grade is missing."""

from __future__ import annotations

import pytest

from services.classifier.rules import RULESET_VERSION, Facts, classify
from shared.events.codes import Classification, RiskGrade


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        (RiskGrade.NO_APPARENT_RISK, Classification.ABSENT),
        (RiskGrade.ABSENT, Classification.ABSENT),
        (RiskGrade.LOW, Classification.MISSING),
        (RiskGrade.MEDIUM, Classification.MISSING),
        (RiskGrade.HIGH, Classification.MISSING),
    ],
)
def test_classify(grade: RiskGrade, expected: Classification) -> None:
    decision = classify(Facts(risk_grade=grade))
    assert decision.classification is expected
    assert decision.rule_ids
    assert all(rule_id.strip() for rule_id in decision.rule_ids)
    assert decision.ruleset_version == RULESET_VERSION != ""


def test_every_grade_is_covered() -> None:
    assert {classify(Facts(risk_grade=g)).classification for g in RiskGrade} == set(Classification)


def test_absent_and_missing_fire_different_rules() -> None:
    absent = classify(Facts(risk_grade=RiskGrade.NO_APPARENT_RISK)).rule_ids
    missing = classify(Facts(risk_grade=RiskGrade.HIGH)).rule_ids
    assert set(absent).isdisjoint(missing)
