"""What each audience may see: the documented table every notice is checked against.

A path names a field of a notice's `data`: `child.given_name`; `[]` steps into a list of objects
(`findings.places[].description`); a list of codes is one field (`child.warning_markers`).

| audience    | may see |
|-------------|---------|
| school      | the minimal notice: name, date of birth, police reference, that an episode happened and |
|             | whether and when the child returned, the LA contact; nothing else (no risk grade, markers, |
|             | findings, location) |
| mset        | the referral pack: identity, care status, markers, the episode's grade and classification, |
|             | repeat-missing counts, coded interview findings (no narrative: no child's words, harm or |
|             | factor detail) |
| social_care | the full event (the child's social worker, the RHI provider and designated leads) |
| police      | intelligence only: the episode's reference, places and people the child was with |
| ops         | no names, no dates of birth, no free text about the child: ids, local authority, times, states |
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from shared.events.payloads.base import Payload
from shared.events.payloads.classifier import EVENTS as DECISION_EVENTS
from shared.events.payloads.rhi import EVENTS as TASK_EVENTS
from shared.policy.notifications import Audience

DIGEST_TYPE = "digest"

SCHOOL = frozenset(
    {
        "school_urn",
        "child.given_name",
        "child.family_name",
        "child.date_of_birth",
        "episodes[].police_reference",
        "episodes[].status",
        "episodes[].returned_at",
        "la_contact.local_authority",
        "la_contact.name",
        "la_contact.contact",
    }
)

MSET = frozenset(
    {
        "child_id",
        "episode_id",
        *(
            f"child.{f}"
            for f in (
                "given_name",
                "family_name",
                "date_of_birth",
                "sex",
                "looked_after",
                "placement_type",
                "responsible_la",
                "host_la",
                "warning_markers",
            )
        ),
        *(
            f"episode.{f}"
            for f in ("force", "police_reference", "reported_at", "returned_at", "risk_grade", "classification")
        ),
        "episode.rule_ids",
        *(
            f"repeat.{f}"
            for f in ("rule_id", "rule_description", "episode_count", "episode_ids", "window_days", "crossed_at")
        ),
        *(f"rhi.{f}" for f in ("task_id", "returned_at", "completed_at", "on_time")),
        *(
            f"findings.{f}"
            for f in (
                "push_factors",
                "pull_factors",
                "places[].type",
                "places[].description",
                "people_with[].description",
                "people_with[].relationship",
                "people_with[].approximate_age",
                "transport",
                "exploitation_indicators",
                "harm_disclosed",
                "actions[].action",
                "actions[].referred_to",
            )
        ),
    }
)

POLICE = frozenset(
    {
        "episode_id",
        "force",
        "police_reference",
        "task_id",
        "completed_at",
        "places[].type",
        "places[].description",
        "places[].postcode",
        "people_with[].description",
        "people_with[].relationship",
        "people_with[].approximate_age",
    }
)

OPS = frozenset(
    {
        # RHI breaches and escalations
        "task_id",
        "episode_id",
        "responsible_la",
        "due_at",
        "breached_at",
        "status",
        "step",
        "after_breach",
        # dead-letter alerts
        "delivery_id",
        "recipient_id",
        "event_type",
        "channel",
        "attempts",
        "reason",
        "dead_at",
    }
)


def model_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field path of a payload model, as its JSON dump lays it out."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        inner, is_list = _unwrap(field.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found |= model_paths(inner, f"{prefix}{name}{'[]' if is_list else ''}.")
        else:
            found.add(prefix + name)
    return found


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The model inside Optional[...] or tuple[..., ...], and whether it is a list."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else (annotation, False)
    if origin is tuple:
        return _unwrap(get_args(annotation)[0])[0], True
    return annotation, False


def _full(models: tuple[type[Payload], ...]) -> frozenset[str]:
    return frozenset().union(*(model_paths(m) for m in models))


SOCIAL_CARE = _full(DECISION_EVENTS + TASK_EVENTS)

FIELD_SETS: dict[Audience, frozenset[str]] = {
    Audience.SCHOOL: SCHOOL,
    Audience.MSET: MSET,
    Audience.SOCIAL_CARE: SOCIAL_CARE,
    Audience.POLICE: POLICE,
    Audience.OPS: OPS,
}


def paths(data: dict[str, Any], prefix: str = "") -> set[str]:
    """The field paths present in a notice's data."""
    found: set[str] = set()
    for key, value in data.items():
        path = prefix + key
        if isinstance(value, dict):
            found |= paths(value, path + ".")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                found |= paths(item, path + "[].")
        else:
            found.add(path)
    return found


def outside(audience: Audience | str, body: dict[str, Any]) -> set[str]:
    """The fields of a notice body that its audience may not see (empty when the notice is clean)."""
    allowed = FIELD_SETS[Audience(audience)]
    data = body.get("data") or {}
    if body.get("type") == DIGEST_TYPE:
        found: set[str] = set()
        for item in data.get("items", []):
            found |= {f"items[].data.{p}" for p in paths(item.get("data") or {}) if not _allowed(p, allowed)}
        return found
    return {p for p in paths(data) if not _allowed(p, allowed)}


def _allowed(path: str, allowed: frozenset[str]) -> bool:
    # An empty list of objects (no places, no people) shows only its own name.
    return path in allowed or any(a.startswith(path + "[].") for a in allowed)
