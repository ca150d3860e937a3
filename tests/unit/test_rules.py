"""The classifier's rule set: every default rule, the precedence between rules, and its properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.classifier.rules import RULES, Facts, age_on, classify, facts_of, ruleset_version
from shared.events.codes import Classification, RiskFactor, RiskGrade, WarningMarker
from shared.events.payloads.base import ChildRecord
from shared.policy.classifier import ClassifierPolicy, Override, RepeatPattern

POLICY = ClassifierPolicy()
MISSING, ABSENT = Classification.MISSING, Classification.ABSENT
NAR = Facts(risk_grade=RiskGrade.NO_APPARENT_RISK, age_at_report=15, whereabouts_known=True)

# (name, facts, expected classification, expected rule ids in order)
CASES: list[tuple[str, Facts, Classification, tuple[str, ...]]] = [
    ("no apparent risk", NAR, ABSENT, ("A1-no-apparent-risk",)),
    ("legacy absent", replace(NAR, risk_grade=RiskGrade.ABSENT), ABSENT, ("A1-no-apparent-risk",)),
    ("low", replace(NAR, risk_grade=RiskGrade.LOW), MISSING, ("M1-graded-at-risk",)),
    ("medium", replace(NAR, risk_grade=RiskGrade.MEDIUM), MISSING, ("M1-graded-at-risk",)),
    ("high", replace(NAR, risk_grade=RiskGrade.HIGH), MISSING, ("M1-graded-at-risk",)),
    *[
        (f"marker {m}", replace(NAR, warning_markers=frozenset({m})), MISSING, ("A1-no-apparent-risk", rule))
        for m, rule in [
            (WarningMarker.CSE, "O1-exploitation-marker"),
            (WarningMarker.CCE, "O1-exploitation-marker"),
            (WarningMarker.COUNTY_LINES, "O1-exploitation-marker"),
            (WarningMarker.TRAFFICKING, "O1-exploitation-marker"),
            (WarningMarker.MODERN_SLAVERY, "O1-exploitation-marker"),
            (WarningMarker.SELF_HARM, "O5-self-harm-or-suicide-risk"),
            (WarningMarker.SUICIDE_RISK, "O5-self-harm-or-suicide-risk"),
            (WarningMarker.MENTAL_HEALTH, "O6-mental-health-need"),
        ]
    ],
    *[
        (f"factor {f}", replace(NAR, risk_factors=frozenset({f})), MISSING, ("A1-no-apparent-risk", rule))
        for f, rule in [
            (RiskFactor.EXPLOITATION_CONCERN, "O1-exploitation-marker"),
            (RiskFactor.OUT_OF_CHARACTER, "O3-out-of-character"),
            (RiskFactor.SUSPECTED_CRIME_VICTIM, "O4-suspected-crime-victim"),
            (RiskFactor.SELF_HARM_OR_SUICIDE_RISK, "O5-self-harm-or-suicide-risk"),
            (RiskFactor.MENTAL_HEALTH_NEED, "O6-mental-health-need"),
        ]
    ],
    ("aged 11", replace(NAR, age_at_report=11), MISSING, ("A1-no-apparent-risk", "O2-under-age")),
    ("aged 12 is not under 12", replace(NAR, age_at_report=12), ABSENT, ("A1-no-apparent-risk",)),
    (
        "looked after, whereabouts unknown",
        replace(NAR, looked_after=True, whereabouts_known=False),
        MISSING,
        ("A1-no-apparent-risk", "O7-looked-after-whereabouts-unknown"),
    ),
    ("looked after, whereabouts known", replace(NAR, looked_after=True), ABSENT, ("A1-no-apparent-risk",)),
    ("not looked after, whereabouts unknown", replace(NAR, whereabouts_known=False), ABSENT, ("A1-no-apparent-risk",)),
    ("3 in 30 days", replace(NAR, recent_episodes=3), MISSING, ("A1-no-apparent-risk", "O8-repeat-pattern")),
    ("2 in 30 days", replace(NAR, recent_episodes=2), ABSENT, ("A1-no-apparent-risk",)),
    ("open 24 h", replace(NAR, open_for=timedelta(hours=24)), MISSING, ("A1-no-apparent-risk", "O9-still-open")),
    ("open 23 h 59", replace(NAR, open_for=timedelta(hours=23, minutes=59)), ABSENT, ("A1-no-apparent-risk",)),
    (
        "a factor that does not override",
        replace(NAR, risk_factors=frozenset({RiskFactor.BULLYING})),
        ABSENT,
        ("A1-no-apparent-risk",),
    ),
    (
        "a marker that does not override",
        replace(NAR, warning_markers=frozenset({WarningMarker.WEAPONS})),
        ABSENT,
        ("A1-no-apparent-risk",),
    ),
    (
        "high with overrides lists every rule, in rule order",
        replace(
            NAR,
            risk_grade=RiskGrade.HIGH,
            age_at_report=10,
            risk_factors=frozenset({RiskFactor.OUT_OF_CHARACTER, RiskFactor.EXPLOITATION_CONCERN}),
        ),
        MISSING,
        ("M1-graded-at-risk", "O1-exploitation-marker", "O2-under-age", "O3-out-of-character"),
    ),
]


@pytest.mark.parametrize(("facts", "expected", "rule_ids"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_default_rules(facts: Facts, expected: Classification, rule_ids: tuple[str, ...]) -> None:
    decision = classify(facts, POLICY)
    assert decision.classification is expected
    assert decision.rule_ids == rule_ids
    assert len(decision.reasons) == len(rule_ids)
    assert all(reason.strip() for reason in decision.reasons)
    assert decision.ruleset_version == ruleset_version(POLICY)


def test_every_rule_is_exercised_by_the_table() -> None:
    fired = {rule_id for _, facts, _, _ in CASES for rule_id in classify(facts, POLICY).rule_ids}
    assert fired == {rule.id for rule in RULES}


def test_rule_ids_are_unique_and_stable() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert ids[0] == "A1-no-apparent-risk"


@pytest.mark.parametrize("override", list(Override))
def test_a_disabled_override_no_longer_fires(override: Override) -> None:
    rule = next(r for r in RULES if r.override is override)
    case = next(facts for _, facts, _, ids in CASES if ids == ("A1-no-apparent-risk", rule.id))
    policy = ClassifierPolicy(disabled_overrides=(override,))
    decision = classify(case, policy)
    assert decision.classification is ABSENT
    assert rule.id not in decision.rule_ids


def test_thresholds_come_from_the_policy() -> None:
    policy = ClassifierPolicy(
        under_age=14, repeat_pattern=RepeatPattern(count=2), absent_escalation_after=timedelta(hours=6)
    )
    assert classify(replace(NAR, age_at_report=13), policy).rule_ids[-1] == "O2-under-age"
    assert classify(replace(NAR, recent_episodes=2), policy).rule_ids[-1] == "O8-repeat-pattern"
    assert classify(replace(NAR, open_for=timedelta(hours=6)), policy).rule_ids[-1] == "O9-still-open"
    exploitation = ClassifierPolicy(exploitation_markers=(WarningMarker.CSE,))
    assert classify(replace(NAR, warning_markers=frozenset({WarningMarker.CCE})), exploitation).classification is ABSENT


def test_the_version_changes_with_the_effective_rules_only() -> None:
    assert ruleset_version(ClassifierPolicy()) == ruleset_version(ClassifierPolicy())
    assert ruleset_version(ClassifierPolicy(under_age=13)) != ruleset_version(POLICY)
    assert ruleset_version(ClassifierPolicy(disabled_overrides=(Override.STILL_OPEN,))) != ruleset_version(POLICY)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2011, 1, 15), date(2026, 1, 14), 14),
        (date(2011, 1, 15), date(2026, 1, 15), 15),
        (date(2012, 2, 29), date(2024, 2, 28), 11),
        (date(2012, 2, 29), date(2024, 2, 29), 12),
    ],
)
def test_age_in_completed_years(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


# ---------------------------------------------------------------- properties

OVERRIDING_FACTORS = [
    RiskFactor.EXPLOITATION_CONCERN,
    RiskFactor.OUT_OF_CHARACTER,
    RiskFactor.SUSPECTED_CRIME_VICTIM,
    RiskFactor.SELF_HARM_OR_SUICIDE_RISK,
    RiskFactor.MENTAL_HEALTH_NEED,
]
facts_strategy = st.builds(
    Facts,
    risk_grade=st.sampled_from(RiskGrade),
    risk_factors=st.frozensets(st.sampled_from(RiskFactor)),
    warning_markers=st.frozensets(st.sampled_from(WarningMarker)),
    age_at_report=st.integers(min_value=0, max_value=17) | st.none(),
    looked_after=st.booleans(),
    whereabouts_known=st.booleans(),
    recent_episodes=st.integers(min_value=1, max_value=6),
    open_for=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
)


@given(facts=facts_strategy, factor=st.sampled_from(OVERRIDING_FACTORS))
def test_adding_an_overriding_factor_never_turns_missing_into_absent(facts: Facts, factor: RiskFactor) -> None:
    before = classify(facts, POLICY)
    after = classify(replace(facts, risk_factors=facts.risk_factors | {factor}), POLICY)
    assert after.classification is MISSING
    assert not (before.classification is MISSING and after.classification is ABSENT)


@given(facts=facts_strategy, marker=st.sampled_from(WarningMarker))
def test_adding_any_marker_never_turns_missing_into_absent(facts: Facts, marker: WarningMarker) -> None:
    before = classify(facts, POLICY)
    after = classify(replace(facts, warning_markers=facts.warning_markers | {marker}), POLICY)
    if before.classification is MISSING:
        assert after.classification is MISSING


@given(
    grade=st.sampled_from(RiskGrade),
    factors=st.lists(st.sampled_from(RiskFactor), unique=True),
    markers=st.lists(st.sampled_from(WarningMarker), unique=True, max_size=len(WarningMarker)),
    data=st.data(),
)
def test_the_decision_does_not_depend_on_the_order_of_factors_or_markers(
    grade: RiskGrade, factors: list[RiskFactor], markers: list[WarningMarker], data: st.DataObject
) -> None:
    def decide(fs: list[RiskFactor], ms: list[WarningMarker]) -> object:
        child = ChildRecord(
            given_name="Leah",
            family_name="Example",
            date_of_birth=date(2013, 1, 1),
            responsible_la="E06000002",
            warning_markers=tuple(ms),
        )
        reported = datetime(2026, 3, 2, 18, tzinfo=UTC)
        facts = facts_of(risk_grade=grade, risk_factors=fs, whereabouts_known=False, reported_at=reported, child=child)
        return classify(facts, POLICY)

    shuffled_factors = data.draw(st.permutations(factors))
    shuffled_markers = data.draw(st.permutations(markers))
    assert decide(factors, markers) == decide(list(shuffled_factors), list(shuffled_markers))
