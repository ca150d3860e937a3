"""The rule set: a pure function from an episode's facts to missing or absent, with reasons."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.codes import Classification, RiskGrade

RULESET_VERSION = "2026.1-foundation"
LOW_GRADES = frozenset({RiskGrade.NO_APPARENT_RISK, RiskGrade.ABSENT})


@dataclass(frozen=True)
class Facts:
    """What the rules look at."""

    risk_grade: RiskGrade


@dataclass(frozen=True)
class Decision:
    """The outcome, the rules that fired and the rule-set version."""

    classification: Classification
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    ruleset_version: str = RULESET_VERSION


def classify(facts: Facts) -> Decision:
    """No apparent risk (or legacy absent) is absent; every other grade is missing."""
    if facts.risk_grade in LOW_GRADES:
        return Decision(Classification.ABSENT, ("R1-grade-no-apparent-risk",), ("graded no apparent risk",))
    return Decision(Classification.MISSING, ("R2-grade-at-risk",), (f"graded {facts.risk_grade} risk",))
