"""Events the classifier publishes on the `classifications` topic.

Episode decisions are keyed by episode id; child events by the classifier's pseudonymous child id.
Decisions carry the episode's facts so that consumers (tracker, notifier) need no other read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from shared.events.codes import Classification, RiskFactor, RiskGrade
from shared.events.payloads.base import ChildRecord, Frozen, LaCode, Payload

TOPIC = "classifications"
Trigger = Literal["reported", "updated", "still_open", "correction"]


class EpisodeFacts(Frozen):
    """The episode as it stood when decided: enough to route and build notices without reading intake."""

    force: str
    police_reference: str
    version: int
    reported_at: AwareDatetime
    last_seen_at: AwareDatetime | None = None
    last_seen_location: str | None = None
    whereabouts_known: bool = False
    risk_grade: RiskGrade
    risk_factors: tuple[RiskFactor, ...] = ()
    returned_at: AwareDatetime | None = None
    child: ChildRecord


class DecisionBase(Payload):
    """What every (re)classification says: the outcome, which rules fired and why, under which rule set."""

    TOPIC = TOPIC

    decision_id: str
    episode_id: str
    child_id: str
    classification: Classification
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]  # one plain-English line per rule id, same order
    ruleset_version: str
    decided_at: AwareDatetime
    trigger: Trigger
    episode: EpisodeFacts


class EpisodeClassified(DecisionBase):
    """The first decision on an episode: missing or absent."""

    EVENT_TYPE = "episode.classified"


class EpisodeReclassified(DecisionBase):
    """A later decision on an episode; the earlier one stands in the history, never overwritten."""

    EVENT_TYPE = "episode.reclassified"

    previous_classification: Classification
    reason: str
    actor: str | None = None  # the API key id of the person who corrected it, if a person did


class ChildRepeatMissing(Payload):
    """A child crossed a repeat-missing rule; sent once per crossing, not again while over the threshold."""

    EVENT_TYPE = "child.repeat_missing"
    TOPIC = TOPIC

    child_id: str
    rule_id: str
    rule_description: str
    episode_count: int
    episode_ids: tuple[str, ...]
    window_days: int | None
    crossed_at: AwareDatetime
    responsible_la: LaCode
    host_la: LaCode | None = None
    child: ChildRecord


class ChildEpisodeLinked(Payload):
    """An episode was linked to a child, by the matcher or by an MSET coordinator (audited)."""

    EVENT_TYPE = "child.episode_linked"
    TOPIC = TOPIC

    episode_id: str
    child_id: str
    previous_child_id: str | None
    method: Literal["police_person_id", "name_and_date_of_birth", "new_child", "manual"]
    actor: str | None = None
    reason: str | None = None
    at: AwareDatetime


class ChildEpisodeUnlinked(Payload):
    """An MSET coordinator split an episode from a child; it now belongs to a child of its own (audited)."""

    EVENT_TYPE = "child.episode_unlinked"
    TOPIC = TOPIC

    episode_id: str
    child_id: str
    previous_child_id: str
    actor: str
    reason: str
    at: AwareDatetime


EVENTS: tuple[type[Payload], ...] = (
    EpisodeClassified,
    EpisodeReclassified,
    ChildRepeatMissing,
    ChildEpisodeLinked,
    ChildEpisodeUnlinked,
)
