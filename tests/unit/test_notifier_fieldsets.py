"""Every notice carries only its audience's fields; the field-set table itself says what DOMAIN.md says."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifier.fieldsets import FIELD_SETS, MSET, OPS, POLICE, SCHOOL, SOCIAL_CARE, outside, paths
from services.notifier.notices import (
    BUILDERS,
    DEAD_LETTER_ALERT,
    SCHOOL_NOTICE,
    EpisodeNow,
    dead_letter_alert,
    envelope,
    school_facts,
    school_notice,
)
from shared.events.codes import PlacementType, PushFactor, TransportMode
from shared.events.payloads.base import Payload
from shared.events.payloads.classifier import EpisodeClassified
from shared.events.payloads.rhi import Findings, PersonWith, Place, Referral, RhiInterviewCompleted
from shared.policy.notifications import Audience
from tests.samples import CHILD, FINDINGS, SAMPLES

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
RICH_FINDINGS = FINDINGS.model_copy(
    update={
        "push_factors": (PushFactor.FAMILY_CONFLICT,),
        "factors_detail": "Argued with carers about phone use.",
        "places": (Place(type="flat_or_house", description="a flat in town", postcode="TS1 2AB"),),
        "people_with": (PersonWith(description="older male", relationship="acquaintance", approximate_age=24),),
        "transport": (TransportMode.TAXI,),
        "harm_disclosed": True,
        "harm_detail": "Was given alcohol.",
        "actions": (Referral(action="CSE screening", referred_to="MACE"),),
        "shared_with": ("social worker",),
        "child_preference": "Would rather talk to her youth worker.",
    }
)
RICH_CHILD = CHILD.model_copy(
    update={"aliases": ("Mimi",), "postcode": "TS1 2AB", "placement_type": PlacementType.CHILDRENS_HOME}
)


def rich(model: type[Payload]) -> Payload:
    sample = SAMPLES[model]
    update: dict[str, Any] = {}
    if "child" in type(sample).model_fields:
        update["child"] = RICH_CHILD
    if isinstance(sample, RhiInterviewCompleted):
        update["findings"] = RICH_FINDINGS
    if isinstance(sample, EpisodeClassified):
        update["episode"] = sample.episode.model_copy(update={"child": RICH_CHILD, "last_seen_location": "the park"})
    return sample.model_copy(update=update)


CASES = [(event_type, audience) for event_type, audience in BUILDERS]


@pytest.mark.parametrize(("event_type", "audience"), CASES, ids=[f"{t}-{a}" for t, a in CASES])
def test_every_notice_has_only_its_audience_fields(event_type: str, audience: Audience) -> None:
    model = next(m for m in SAMPLES if event_type == m.EVENT_TYPE)
    body = envelope(event_type, audience, NOW, BUILDERS[(event_type, audience)](rich(model)))
    json.dumps(body)  # every notice is JSON as built
    if audience is Audience.SCHOOL:
        assert set(paths(body["data"])) <= {"child.given_name", "child.family_name", "child.date_of_birth",
                                            "police_reference", "responsible_la", "school_urn"}  # fmt: skip
    else:
        assert outside(audience, body) == set()


def test_the_school_notice_is_only_the_minimal_notice() -> None:
    facts = school_facts(rich(EpisodeClassified))
    data = school_notice(facts, [EpisodeNow("NB-1", NOW), EpisodeNow("NB-2", None)], "Redcar", "01642 130700")
    body = envelope(SCHOOL_NOTICE, "school", NOW, data)
    assert outside(Audience.SCHOOL, body) == set()
    assert data["episodes"] == [
        {"police_reference": "NB-1", "status": "returned", "returned_at": NOW.isoformat()},
        {"police_reference": "NB-2", "status": "missing", "returned_at": None},
    ]
    text = json.dumps(body)
    for leaked in ("cse", "high", "park", "TS1", "Mimi", "children", "E06000004"):
        assert leaked not in text


def test_social_care_sees_the_whole_interview() -> None:
    body = envelope("rhi.completed", "social_care", NOW, BUILDERS[("rhi.completed", Audience.SOCIAL_CARE)](
        rich(RhiInterviewCompleted)))  # fmt: skip
    assert body["data"]["findings"]["child_words"] == "I went to see my mates."
    assert body["data"]["findings"]["harm_detail"] == "Was given alcohol."


def test_mset_gets_coded_findings_but_not_the_narrative() -> None:
    data = BUILDERS[("rhi.completed", Audience.MSET)](rich(RhiInterviewCompleted))
    assert data["findings"]["pull_factors"] == ["older_adults"]
    assert data["findings"]["places"] == [{"type": "flat_or_house", "description": "a flat in town"}]
    text = json.dumps(data)
    for narrative in ("I went to see my mates", "Was given alcohol", "phone use", "youth worker"):
        assert narrative not in text


def test_police_get_places_and_people_only() -> None:
    data = BUILDERS[("rhi.completed", Audience.POLICE)](rich(RhiInterviewCompleted))
    assert {k for k in data if isinstance(data[k], list)} == {"places", "people_with"}
    assert "child" not in data
    assert "findings" not in data


def test_ops_notices_carry_no_names_dates_of_birth_or_free_text() -> None:
    for event_type in ("rhi.breached", "rhi.escalated"):
        data = BUILDERS[(event_type, Audience.OPS)](rich(next(m for m in SAMPLES if event_type == m.EVENT_TYPE)))
        text = json.dumps(data)
        assert "Mia" not in text
        assert "Example" not in text
        assert "2011-01-15" not in text
    alert = dead_letter_alert(
        delivery_id="msg_1",
        recipient_id="redcar-rhi",
        event_type="rhi.opened",
        channel="webhook",
        attempts=8,
        reason="HTTP 503",
        episode_id="ep-1",
        local_authority="E06000003",
        dead_at=NOW,
    )
    assert outside(Audience.OPS, envelope(DEAD_LETTER_ALERT, "ops", NOW, alert)) == set()


@pytest.mark.parametrize(
    ("audience", "forbidden"),
    [
        (Audience.SCHOOL, ("risk_grade", "warning_markers", "findings", "last_seen_location", "postcode", "host_la")),
        (Audience.MSET, ("child_words", "harm_detail", "factors_detail", "child_preference", "postcode", "aliases")),
        (Audience.POLICE, ("given_name", "date_of_birth", "child_words", "harm_detail")),
        (Audience.OPS, ("given_name", "family_name", "date_of_birth", "aliases", "child_words", "reasons")),
    ],
)
def test_the_table_leaves_out_what_each_audience_may_not_see(audience: Audience, forbidden: tuple[str, ...]) -> None:
    for path in FIELD_SETS[audience]:
        assert not any(word in path.split(".")[-1] or f"{word}." in path for word in forbidden), path


def test_social_care_is_the_full_record() -> None:
    assert {
        "findings.child_words",
        "findings.harm_detail",
        "child.date_of_birth",
        "episode.child.postcode",
    } <= SOCIAL_CARE
    assert not SCHOOL <= SOCIAL_CARE, "the school notice is its own shape, not a cut-down record"
    assert {"findings.child_words", "findings.harm_detail"}.isdisjoint(MSET | POLICE | OPS)


def test_a_planted_field_is_caught() -> None:
    body = envelope(SCHOOL_NOTICE, "school", NOW, {"child": {"given_name": "Ella", "risk_grade": "high"}})
    assert outside(Audience.SCHOOL, body) == {"child.risk_grade"}
    digest = {"type": "digest", "data": {"items": [{"type": "episode.classified", "data": {"child_words": "x"}}]}}
    assert outside(Audience.MSET, digest) == {"items[].data.child_words"}
    assert outside(Audience.MSET, {"type": "digest", "data": {"items": [{"data": {"child_id": "c"}}]}}) == set()


def test_paths_of_nested_data() -> None:
    assert paths({"a": {"b": 1, "c": [{"d": 1}, {"e": None}], "f": [1, 2]}, "g": None, "h": []}) == {
        "a.b", "a.c[].d", "a.c[].e", "a.f", "g", "h"}  # fmt: skip


def test_findings_defaults_build() -> None:
    payload = SAMPLES[RhiInterviewCompleted].model_copy(update={"findings": Findings(interviewer_independent=True)})
    body = envelope("rhi.completed", "police", NOW, BUILDERS[("rhi.completed", Audience.POLICE)](payload))
    assert outside(Audience.POLICE, body) == set()
