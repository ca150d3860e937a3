"""The rule set: a pure function from an episode's facts (and the child's recent history) to missing or absent.

Default rules are DOMAIN.md "Missing vs absent": ABSENT only when the police grade is no apparent
risk (or legacy absent) and no overriding factor is present; everything else MISSING. Every rule has
a stable id and a plain-English reason, and a decision lists every rule that fired, in the order of
RULES below. Precedence: any missing-side rule (M1 or an O rule) beats A1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.events.codes import Classification, RiskFactor, RiskGrade, WarningMarker
from shared.events.payloads.base import ChildRecord
from shared.policy.classifier import ClassifierPolicy, Override

BASE_VERSION = "2026.2"
SELF_HARM_MARKERS = frozenset({WarningMarker.SELF_HARM, WarningMarker.SUICIDE_RISK})
GRADE_ORDER = {RiskGrade.NO_APPARENT_RISK: 0, RiskGrade.LOW: 1, RiskGrade.MEDIUM: 2, RiskGrade.HIGH: 3}


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the episode as it stands and the child's recent history."""

    risk_grade: RiskGrade
    risk_factors: frozenset[RiskFactor] = frozenset()
    warning_markers: frozenset[WarningMarker] = frozenset()
    age_at_report: int | None = None
    looked_after: bool = False
    whereabouts_known: bool = False
    # The child's episodes reported within the repeat-pattern window up to this report, this one included.
    recent_episodes: int = 1
    # How long the episode has been open when decided; None once the child has returned.
    open_for: timedelta | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome, the rules that fired (with one reason each) and the rule-set version."""

    classification: Classification
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    ruleset_version: str


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id, which side it decides, and a test that returns its reason when it fires."""

    id: str
    classification: Classification
    override: Override | None
    test: Callable[[Facts, ClassifierPolicy], str | None]


def facts_of(
    *,
    risk_grade: RiskGrade,
    risk_factors: Iterable[RiskFactor],
    whereabouts_known: bool,
    reported_at: datetime,
    child: ChildRecord,
    recent_episodes: int = 1,
    open_for: timedelta | None = None,
) -> Facts:
    """The rules' view of an episode record (lists become sets: their order means nothing)."""
    return Facts(
        risk_grade=risk_grade,
        risk_factors=frozenset(risk_factors),
        warning_markers=frozenset(child.warning_markers),
        age_at_report=age_on(child.date_of_birth, reported_at.date()),
        looked_after=child.looked_after,
        whereabouts_known=whereabouts_known,
        recent_episodes=recent_episodes,
        open_for=open_for,
    )


def grade_rank(grade: RiskGrade) -> int:
    """Order of grades for "the grade rose" (legacy absent ranks as no apparent risk)."""
    return GRADE_ORDER[grade.mapped]


def age_on(born: date, day: date) -> int:
    """Completed years of age on a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _no_apparent_risk(f: Facts, _p: ClassifierPolicy) -> str | None:
    if f.risk_grade.mapped is not RiskGrade.NO_APPARENT_RISK:
        return None
    return (
        "graded absent (legacy), read as no apparent risk"
        if f.risk_grade is RiskGrade.ABSENT
        else ("graded no apparent risk")
    )


def _graded_at_risk(f: Facts, _p: ClassifierPolicy) -> str | None:
    return None if f.risk_grade.mapped is RiskGrade.NO_APPARENT_RISK else f"graded {f.risk_grade.value} risk"


def _exploitation(f: Facts, p: ClassifierPolicy) -> str | None:
    markers = sorted(m.value for m in f.warning_markers if m in p.exploitation_markers)
    if markers:
        return f"exploitation warning marker ({', '.join(markers)})"
    if RiskFactor.EXPLOITATION_CONCERN in f.risk_factors:
        return "police recorded an exploitation concern"
    return None


def _under_age(f: Facts, p: ClassifierPolicy) -> str | None:
    if f.age_at_report is not None and f.age_at_report < p.under_age:
        return f"under {p.under_age} at the report (aged {f.age_at_report})"
    return None


def _factor(factor: RiskFactor, reason: str) -> Callable[[Facts, ClassifierPolicy], str | None]:
    return lambda f, _p: reason if factor in f.risk_factors else None


def _self_harm(f: Facts, _p: ClassifierPolicy) -> str | None:
    if RiskFactor.SELF_HARM_OR_SUICIDE_RISK in f.risk_factors:
        return "police recorded a risk of self-harm or suicide"
    markers = sorted(m.value for m in f.warning_markers if m in SELF_HARM_MARKERS)
    return f"warning marker ({', '.join(markers)})" if markers else None


def _mental_health(f: Facts, _p: ClassifierPolicy) -> str | None:
    if RiskFactor.MENTAL_HEALTH_NEED in f.risk_factors:
        return "police recorded a mental-health need"
    return "mental-health warning marker" if WarningMarker.MENTAL_HEALTH in f.warning_markers else None


def _looked_after_unknown(f: Facts, _p: ClassifierPolicy) -> str | None:
    return "looked-after child whose whereabouts are unknown" if f.looked_after and not f.whereabouts_known else None


def _repeat_pattern(f: Facts, p: ClassifierPolicy) -> str | None:
    n, days = p.repeat_pattern.count, p.repeat_pattern.window.days
    return f"{f.recent_episodes} episodes in {days} days (threshold {n})" if f.recent_episodes >= n else None


def _still_open(f: Facts, p: ClassifierPolicy) -> str | None:
    if f.open_for is not None and f.open_for >= p.absent_escalation_after:
        return f"still open {_hours(p.absent_escalation_after)} after the report"
    return None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hours"


MISSING, ABSENT = Classification.MISSING, Classification.ABSENT
RULES: tuple[Rule, ...] = (
    Rule("A1-no-apparent-risk", ABSENT, None, _no_apparent_risk),
    Rule("M1-graded-at-risk", MISSING, None, _graded_at_risk),
    Rule("O1-exploitation-marker", MISSING, Override.EXPLOITATION, _exploitation),
    Rule("O2-under-age", MISSING, Override.UNDER_AGE, _under_age),
    Rule(
        "O3-out-of-character",
        MISSING,
        Override.OUT_OF_CHARACTER,
        _factor(RiskFactor.OUT_OF_CHARACTER, "out of character"),
    ),
    Rule(
        "O4-suspected-crime-victim",
        MISSING,
        Override.SUSPECTED_CRIME_VICTIM,
        _factor(RiskFactor.SUSPECTED_CRIME_VICTIM, "suspected victim of crime"),
    ),
    Rule("O5-self-harm-or-suicide-risk", MISSING, Override.SELF_HARM_OR_SUICIDE_RISK, _self_harm),
    Rule("O6-mental-health-need", MISSING, Override.MENTAL_HEALTH_NEED, _mental_health),
    Rule(
        "O7-looked-after-whereabouts-unknown", MISSING, Override.LOOKED_AFTER_WHEREABOUTS_UNKNOWN, _looked_after_unknown
    ),
    Rule("O8-repeat-pattern", MISSING, Override.REPEAT_PATTERN, _repeat_pattern),
    Rule("O9-still-open", MISSING, Override.STILL_OPEN, _still_open),
)


def ruleset_version(policy: ClassifierPolicy) -> str:
    """The base version plus a short hash of the effective policy section: it changes when the rules do."""
    digest = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:8]
    return f"{BASE_VERSION}+{digest}"


def classify(facts: Facts, policy: ClassifierPolicy, version: str | None = None) -> Decision:
    """Apply every enabled rule; missing if any missing-side rule fired, else absent."""
    fired: list[tuple[Rule, str]] = []
    for rule in RULES:
        if rule.override is not None and not policy.enabled(rule.override):
            continue
        reason = rule.test(facts, policy)
        if reason is not None:
            fired.append((rule, reason))
    missing = any(rule.classification is MISSING for rule, _ in fired)
    return Decision(
        classification=MISSING if missing else ABSENT,
        rule_ids=tuple(rule.id for rule, _ in fired),
        reasons=tuple(reason for _, reason in fired),
        ruleset_version=version or ruleset_version(policy),
    )
