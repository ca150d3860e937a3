"""Events intake publishes on the `episodes` topic (key: episode id)."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.codes import CancelReason, ReporterType, ReturnedBy, RiskFactor, RiskGrade, UpdateKind
from shared.events.payloads.base import ChildRecord, Frozen, Payload, ShortText

TOPIC = "episodes"


class Provenance(Frozen):
    """Which police system supplied the data, and who in it."""

    source_system: ShortText | None = None
    source_record_id: ShortText | None = None
    submitted_by: ShortText | None = None


class EpisodeSnapshot(Payload):
    """The whole current record of an episode at one version."""

    TOPIC = TOPIC

    episode_id: str
    force: str
    police_reference: str
    version: int = 1
    reported_at: AwareDatetime
    last_seen_at: AwareDatetime | None = None
    last_seen_location: str | None = None
    whereabouts_known: bool = False
    risk_grade: RiskGrade
    police_category: str | None = None
    risk_factors: tuple[RiskFactor, ...] = ()
    circumstances: str | None = None
    reporter_type: ReporterType | None = None
    reporting_agency: str | None = None
    provenance: Provenance = Provenance()
    child: ChildRecord


class EpisodeReported(EpisodeSnapshot):
    """Police reported a child missing (version 1 of the episode)."""

    EVENT_TYPE = "episode.reported"


class EpisodeUpdated(EpisodeSnapshot):
    """Police changed an episode: a re-grade, new information or a correction; carries the whole new version."""

    EVENT_TYPE = "episode.updated"

    kind: UpdateKind
    reason: str
    changed_fields: tuple[str, ...]
    updated_at: AwareDatetime


class EpisodeReturned(Payload):
    """Police recorded that the child returned or was found; with `correction_reason`, a corrected return."""

    EVENT_TYPE = "episode.returned"
    TOPIC = TOPIC

    episode_id: str
    force: str
    police_reference: str
    version: int = 1
    returned_at: AwareDatetime
    found_at: AwareDatetime | None = None
    return_location: str | None = None
    returned_by: ReturnedBy | None = None
    harm_disclosed: bool | None = None
    # Set only when this corrects an earlier return of the same episode; consumers recompute from it.
    correction_reason: str | None = None
    previous_returned_at: AwareDatetime | None = None


class EpisodeCancelled(Payload):
    """Police cancelled an episode, e.g. reported in error."""

    EVENT_TYPE = "episode.cancelled"
    TOPIC = TOPIC

    episode_id: str
    force: str
    police_reference: str
    version: int
    reason: CancelReason
    detail: str | None = None
    cancelled_at: AwareDatetime


EVENTS: tuple[type[Payload], ...] = (EpisodeReported, EpisodeUpdated, EpisodeReturned, EpisodeCancelled)
