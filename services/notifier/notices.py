"""Notices per (event type, audience), each built from scratch from the audience's field set.

No builder copies a record and deletes what an audience may not see: each names the fields it
takes (services/notifier/fieldsets.py is the table a test checks every notice against). Social
care sees the full event. School notices are held and built at release time (school_notice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import TypeAdapter

from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import EVENTS as DECISION_EVENTS
from shared.events.payloads.classifier import ChildRepeatMissing, DecisionBase
from shared.events.payloads.rhi import EVENTS as TASK_EVENTS
from shared.events.payloads.rhi import Findings, RhiInterviewCompleted, RhiTaskBreached, RhiTaskEscalated, TaskEvent
from shared.policy.notifications import Audience

Builder = Callable[[Payload], dict[str, Any]]
DURATION = TypeAdapter(timedelta)
SCHOOL_NOTICE = "school.notice"
DEAD_LETTER_ALERT = "delivery.dead"


def envelope(notice_type: str, audience: str, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body every channel carries: what kind of notice, for whom, when, and its data."""
    return {"type": notice_type, "audience": audience, "timestamp": timestamp.isoformat(), "data": data}


def full(payload: Payload) -> dict[str, Any]:
    """Social care (the social worker, the RHI provider, designated leads) see the whole event."""
    plain = _plain(payload.model_dump(mode="python"))
    assert isinstance(plain, dict)
    return plain


def _plain(value: Any) -> Any:
    """JSON values, with times written as every notice writes them (datetime.isoformat)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return DURATION.dump_python(value, mode="json")
    return value.value if isinstance(value, Enum) else value


def _mset_child(child: ChildRecord) -> dict[str, Any]:
    return {
        "given_name": child.given_name,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "sex": child.sex.value,
        "looked_after": child.looked_after,
        "placement_type": child.placement_type.value if child.placement_type else None,
        "responsible_la": child.responsible_la,
        "host_la": child.host_la,
        "warning_markers": [m.value for m in child.warning_markers],
    }


def mset_decision(payload: Payload) -> dict[str, Any]:
    """MSET referral pack for a (re)classified episode."""
    assert isinstance(payload, DecisionBase)
    e = payload.episode
    return {
        "child_id": payload.child_id,
        "episode_id": payload.episode_id,
        "child": _mset_child(e.child),
        "episode": {
            "force": e.force,
            "police_reference": e.police_reference,
            "reported_at": e.reported_at.isoformat(),
            "returned_at": e.returned_at.isoformat() if e.returned_at else None,
            "risk_grade": e.risk_grade.mapped.value,
            "classification": payload.classification.value,
            "rule_ids": list(payload.rule_ids),
        },
    }


def mset_repeat(payload: Payload) -> dict[str, Any]:
    """MSET referral pack for a child who crossed a repeat-missing rule."""
    assert isinstance(payload, ChildRepeatMissing)
    return {
        "child_id": payload.child_id,
        "child": _mset_child(payload.child),
        "repeat": {
            "rule_id": payload.rule_id,
            "rule_description": payload.rule_description,
            "episode_count": payload.episode_count,
            "episode_ids": list(payload.episode_ids),
            "window_days": payload.window_days,
            "crossed_at": payload.crossed_at.isoformat(),
        },
    }


def _coded_findings(f: Findings) -> dict[str, Any]:
    return {
        "push_factors": [x.value for x in f.push_factors],
        "pull_factors": [x.value for x in f.pull_factors],
        "places": [{"type": p.type.value, "description": p.description} for p in f.places],
        "people_with": [
            {"description": p.description, "relationship": p.relationship, "approximate_age": p.approximate_age}
            for p in f.people_with
        ],
        "transport": [x.value for x in f.transport],
        "exploitation_indicators": [x.value for x in f.exploitation_indicators],
        "harm_disclosed": f.harm_disclosed,
        "actions": [{"action": a.action, "referred_to": a.referred_to} for a in f.actions],
    }


def mset_findings(payload: Payload) -> dict[str, Any]:
    """MSET referral pack from an interview: coded findings and themes, never the narrative."""
    assert isinstance(payload, RhiInterviewCompleted)
    return {
        "episode_id": payload.episode_id,
        "child": _mset_child(payload.child),
        "rhi": {
            "task_id": payload.task_id,
            "returned_at": payload.returned_at.isoformat(),
            "completed_at": payload.completed_at.isoformat(),
            "on_time": payload.on_time,
        },
        "findings": _coded_findings(payload.findings),
    }


def police_intelligence(payload: Payload) -> dict[str, Any]:
    """Police: where the child was and with whom, against their own reference."""
    assert isinstance(payload, RhiInterviewCompleted)
    f = payload.findings
    return {
        "episode_id": payload.episode_id,
        "force": payload.force,
        "police_reference": payload.police_reference,
        "task_id": payload.task_id,
        "completed_at": payload.completed_at.isoformat(),
        "places": [{"type": p.type.value, "description": p.description, "postcode": p.postcode} for p in f.places],
        "people_with": [
            {"description": p.description, "relationship": p.relationship, "approximate_age": p.approximate_age}
            for p in f.people_with
        ],
    }


def ops_task(payload: Payload) -> dict[str, Any]:
    """Ops: a breach or escalation as ids, authority and times; no name, date of birth or free text."""
    assert isinstance(payload, RhiTaskBreached | RhiTaskEscalated)
    data: dict[str, Any] = {
        "task_id": payload.task_id,
        "episode_id": payload.episode_id,
        "responsible_la": payload.responsible_la,
        "due_at": payload.due_at.isoformat(),
    }
    if isinstance(payload, RhiTaskBreached):
        data |= {"breached_at": payload.at.isoformat(), "status": payload.status}
    else:
        data |= {
            "step": payload.step,
            "after_breach": payload.model_dump(mode="json", include={"after_breach"})["after_breach"],
        }
    return data


def school_facts(payload: Payload) -> dict[str, Any]:
    """What a held school notice keeps about one episode until release: the minimal notice's fields."""
    assert isinstance(payload, DecisionBase)
    child = payload.episode.child
    return {
        "child": {
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth.isoformat(),
        },
        "police_reference": payload.episode.police_reference,
        "responsible_la": child.responsible_la,
        "school_urn": child.school_urn,
    }


@dataclass(frozen=True)
class EpisodeNow:
    """What is known about one episode at release time."""

    police_reference: str
    returned_at: datetime | None


def school_notice(
    facts: dict[str, Any], episodes: Sequence[EpisodeNow], la_name: str | None, la_contact: str | None
) -> dict[str, Any]:
    """The school's minimal notice: who, which police reference(s), missing or returned (and when), whom to call."""
    return {
        "school_urn": facts["school_urn"],
        "child": {k: facts["child"][k] for k in ("given_name", "family_name", "date_of_birth")},
        "episodes": [
            {
                "police_reference": e.police_reference,
                "status": "returned" if e.returned_at else "missing",
                "returned_at": e.returned_at.isoformat() if e.returned_at else None,
            }
            for e in episodes
        ],
        "la_contact": {"local_authority": facts["responsible_la"], "name": la_name, "contact": la_contact},
    }


def dead_letter_alert(
    *,
    delivery_id: str,
    recipient_id: str,
    event_type: str,
    channel: str,
    attempts: int,
    reason: str,
    episode_id: str | None,
    local_authority: str | None,
    dead_at: datetime,
) -> dict[str, Any]:
    """Ops: a notice could not be delivered (ids and the reason only)."""
    return {
        "delivery_id": delivery_id,
        "recipient_id": recipient_id,
        "event_type": event_type,
        "channel": channel,
        "attempts": attempts,
        "reason": reason,
        "episode_id": episode_id,
        "responsible_la": local_authority,
        "dead_at": dead_at.isoformat(),
    }


DECISION_TYPES = tuple(m.EVENT_TYPE for m in DECISION_EVENTS if issubclass(m, DecisionBase))
TASK_TYPES = tuple(m.EVENT_TYPE for m in TASK_EVENTS if issubclass(m, TaskEvent))

BUILDERS: dict[tuple[str, Audience], Builder] = {
    **{(t, Audience.SOCIAL_CARE): full for t in (*DECISION_TYPES, "child.repeat_missing", *TASK_TYPES)},
    **{(t, Audience.MSET): mset_decision for t in DECISION_TYPES},
    **{(t, Audience.SCHOOL): school_facts for t in DECISION_TYPES},
    ("child.repeat_missing", Audience.MSET): mset_repeat,
    ("rhi.completed", Audience.MSET): mset_findings,
    ("rhi.completed", Audience.POLICE): police_intelligence,
    ("rhi.breached", Audience.OPS): ops_task,
    ("rhi.escalated", Audience.OPS): ops_task,
}
ROUTABLE = frozenset(event_type for event_type, _ in BUILDERS)


def builder_for(event_type: str, audience: Audience) -> Builder | None:
    """The notice builder for an event type and audience, if that audience may hear of it."""
    return BUILDERS.get((event_type, audience))
