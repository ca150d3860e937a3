"""The routing table: which recipients of the example policy each event reaches, and how rules match facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.notifier.routing import Facts, choose, facts_of, matches
from shared.events.codes import Classification, ExploitationIndicator, RiskGrade, WarningMarker
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import ChildRepeatMissing, EpisodeClassified, EpisodeReclassified
from shared.events.payloads.episode import EpisodeReturned
from shared.events.payloads.rhi import (
    Findings,
    RhiInterviewCompleted,
    RhiInterviewOffered,
    RhiReminderDue,
    RhiTaskBreached,
    RhiTaskOpened,
)
from shared.policy import Policy, load_policy
from shared.policy.notifications import Timing, When
from tests.samples import CHILD, FINDINGS, SAMPLES

EXAMPLE = load_policy(Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml")
REDCAR, STOCKTON, MIDDLESBROUGH, DARLINGTON = "E06000003", "E06000004", "E06000002", "E06000005"

# Josh (scenario 2): looked after by Redcar, placed in Stockton, CSE marker, at Hillside Academy.
JOSH = CHILD.model_copy(
    update={"responsible_la": REDCAR, "host_la": STOCKTON, "school_urn": "123456", "given_name": "Josh"}
)
MIA = CHILD.model_copy(
    update={"responsible_la": MIDDLESBROUGH, "host_la": None, "school_urn": None, "warning_markers": ()}
)


def decision(child: ChildRecord, classification: Classification = Classification.MISSING, **kw: Any) -> Payload:
    base = SAMPLES[EpisodeClassified]
    assert isinstance(base, EpisodeClassified)
    episode = base.episode.model_copy(update={"child": child, **kw})
    return base.model_copy(update={"episode": episode, "classification": classification})


def task(model: type[Payload], child: ChildRecord = JOSH, **kw: Any) -> Payload:
    base = SAMPLES[model]
    return base.model_copy(
        update={"child": child, "responsible_la": child.responsible_la, "host_la": child.host_la, **kw}
    )


def routed(payload: Payload, policy: Policy = EXAMPLE) -> dict[str, Timing]:
    facts = facts_of(payload)
    assert facts is not None
    return {c.recipient.id: c.rule.timing for c in choose(policy, payload.EVENT_TYPE, facts)}


NOW = Timing.IMMEDIATE


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            decision(JOSH),
            {
                "redcar-childrens-services": NOW,
                "stockton-childrens-services": NOW,
                "tees-mset": NOW,
                "hillside-academy-dsl": Timing.SCHOOL_MORNING,
            },
            id="missing, out of area, CSE marker, at school: both LAs, MSET, the school's DSL held",
        ),
        pytest.param(
            decision(MIA, Classification.ABSENT, risk_grade=RiskGrade.NO_APPARENT_RISK),
            {"middlesbrough-childrens-services": NOW},
            id="absent (scenario 1): her LA only, no MSET",
        ),
        pytest.param(
            decision(MIA.model_copy(update={"host_la": MIDDLESBROUGH})),
            {"middlesbrough-childrens-services": NOW},
            id="placed in its own area: no host notice",
        ),
        pytest.param(
            decision(JOSH.model_copy(update={"school_urn": "999999", "warning_markers": (WarningMarker.SELF_HARM,)})),
            {"redcar-childrens-services": NOW, "stockton-childrens-services": NOW},
            id="a school with no DSL recipient, a marker that is not exploitation",
        ),
        pytest.param(
            decision(JOSH, Classification.ABSENT),
            {"redcar-childrens-services": NOW, "tees-mset": NOW},
            id="absent with an exploitation marker: responsible LA and MSET, no host, no school",
        ),
        pytest.param(
            decision(JOSH.model_copy(update={"responsible_la": DARLINGTON, "host_la": None})),
            {"hillside-academy-dsl": Timing.SCHOOL_MORNING},
            id="a Durham-Darlington child: not Tees MSET, no Darlington recipients",
        ),
        pytest.param(
            SAMPLES[ChildRepeatMissing].model_copy(update={"responsible_la": REDCAR, "child": JOSH}),
            {"tees-mset": NOW},
            id="repeat missing: MSET",
        ),
        pytest.param(task(RhiTaskOpened), {"redcar-rhi": NOW}, id="new task: the RHI provider"),
        pytest.param(task(RhiReminderDue, MIA), {"middlesbrough-rhi": NOW}, id="reminder: the RHI provider"),
        pytest.param(task(RhiInterviewOffered), {}, id="offered: nobody"),
        pytest.param(
            task(RhiInterviewCompleted),
            {"redcar-childrens-services": NOW, "tees-mset": NOW, "cleveland-police-intelligence": NOW},
            id="findings with exploitation indicators: social worker, MSET, police",
        ),
        pytest.param(
            task(RhiInterviewCompleted, findings=Findings(interviewer_independent=True)),
            {"redcar-childrens-services": NOW, "cleveland-police-intelligence": NOW},
            id="findings without exploitation indicators: no MSET",
        ),
        pytest.param(
            task(RhiTaskBreached), {"tees-ops": NOW, "redcar-missing-lead": NOW}, id="breach: ops and missing lead"
        ),
    ],
)
def test_example_routing(payload: Payload, expected: dict[str, Timing]) -> None:
    assert routed(payload) == expected


def test_reclassified_to_missing_routes_as_missing() -> None:
    base = SAMPLES[EpisodeReclassified]
    assert isinstance(base, EpisodeReclassified)
    payload = base.model_copy(update={"episode": base.episode.model_copy(update={"child": MIA})})
    assert routed(payload) == {"middlesbrough-childrens-services": NOW}


def test_statutory_rules_mark_rhi_and_breach_notices() -> None:
    facts = facts_of(task(RhiTaskOpened))
    assert facts is not None
    [chosen] = choose(EXAMPLE, "rhi.opened", facts)
    assert chosen.rule.statutory
    assert not next(iter(choose(EXAMPLE, "episode.classified", facts))).rule.statutory


def test_events_without_a_child_are_not_routed() -> None:
    assert facts_of(SAMPLES[EpisodeReturned]) is None


def test_facts_of_a_decision() -> None:
    facts = facts_of(decision(JOSH, risk_grade=RiskGrade.ABSENT))
    assert facts == Facts(
        responsible_la=REDCAR,
        host_la=STOCKTON,
        school_urn="123456",
        force="cleveland",
        classification=Classification.MISSING,
        risk_grade=RiskGrade.NO_APPARENT_RISK,  # legacy absent is read as no apparent risk
        markers=frozenset({WarningMarker.CSE}),
        episode_id="ep-1",
        child_id="child-1",
    )
    assert facts.out_of_area


def test_facts_of_findings() -> None:
    with_indicators = facts_of(task(RhiInterviewCompleted))
    without = facts_of(
        task(RhiInterviewCompleted, findings=FINDINGS.model_copy(update={"exploitation_indicators": ()}))
    )
    assert with_indicators is not None
    assert with_indicators.exploitation_indicators
    assert without is not None
    assert not without.exploitation_indicators
    assert ExploitationIndicator.CSE in FINDINGS.exploitation_indicators


JOSH_FACTS = Facts(
    responsible_la=REDCAR,
    host_la=STOCKTON,
    school_urn="123456",
    classification=Classification.MISSING,
    risk_grade=RiskGrade.HIGH,
    markers=frozenset({WarningMarker.CSE}),
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (When(), True),
        (When(classification=[Classification.MISSING]), True),
        (When(classification=[Classification.ABSENT]), False),
        (When(risk_grade=[RiskGrade.HIGH, RiskGrade.MEDIUM]), True),
        (When(risk_grade=[RiskGrade.LOW]), False),
        (When(markers=[WarningMarker.CCE, WarningMarker.CSE]), True),
        (When(markers=[WarningMarker.CCE]), False),
        (When(exploitation_indicators=True), False),
        (When(exploitation_indicators=False), True),
        (When(responsible_la=[REDCAR]), True),
        (When(responsible_la=[STOCKTON]), False),
        (When(host_la=[STOCKTON]), True),
        (When(host_la=[REDCAR]), False),
        (When(out_of_area=True), True),
        (When(out_of_area=False), False),
        (When(school_urn=["123456"]), True),
        (When(school_urn=["654321"]), False),
        (When(classification=[Classification.MISSING], risk_grade=[RiskGrade.LOW]), False),
    ],
)
def test_matches(when: When, expected: bool) -> None:
    assert matches(when, JOSH_FACTS) is expected


def test_the_first_rule_naming_a_recipient_decides_and_each_recipient_is_chosen_once() -> None:
    rules = [
        {"id": "high-risk", "events": ["episode.classified"], "when": {"risk_grade": ["high"]},
         "send_to": [{"role": "childrens_services", "of": "responsible_la"}], "statutory": True},
        {"id": "everyone", "events": ["episode.classified"],
         "send_to": [{"role": "childrens_services", "of": "responsible_la"}]},
    ]  # fmt: skip
    data = EXAMPLE.model_dump(mode="json")
    data["notifications"]["rules"] = rules
    policy = Policy.model_validate(data)
    chosen = choose(policy, "episode.classified", JOSH_FACTS)
    assert [(c.recipient.id, c.rule.id) for c in chosen] == [("redcar-childrens-services", "high-risk")]
