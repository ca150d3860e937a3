"""One valid sample of every registered event payload, for codec, AsyncAPI and notice tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.events.codes import (
    CancelReason,
    Classification,
    ExploitationIndicator,
    NotOfferedReason,
    PlaceType,
    PullFactor,
    RiskFactor,
    RiskGrade,
    UpdateKind,
    WarningMarker,
)
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import (
    ChildEpisodeLinked,
    ChildEpisodeUnlinked,
    ChildRepeatMissing,
    EpisodeClassified,
    EpisodeFacts,
    EpisodeReclassified,
)
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReported, EpisodeReturned, EpisodeUpdated
from shared.events.payloads.notification import NotificationDelivered, NotificationFailed, NotificationReplayed
from shared.events.payloads.rhi import (
    Findings,
    Place,
    RhiDueChanged,
    RhiInterviewCompleted,
    RhiInterviewDeclined,
    RhiInterviewNotOffered,
    RhiInterviewNotPossible,
    RhiInterviewOffered,
    RhiReminderDue,
    RhiTaskBreached,
    RhiTaskCancelled,
    RhiTaskEscalated,
    RhiTaskOpened,
    RhiTaskReassigned,
    RhiTaskSuperseded,
)

AT = datetime(2026, 3, 6, 22, 40, tzinfo=UTC)
RETURNED = datetime(2026, 3, 7, 1, 10, tzinfo=UTC)
DUE = RETURNED + timedelta(hours=72)
CHILD = ChildRecord(
    given_name="Mia",
    family_name="Example",
    date_of_birth=date(2011, 1, 15),
    responsible_la="E06000002",
    host_la="E06000004",
    looked_after=True,
    school_urn="111111",
    warning_markers=(WarningMarker.CSE,),
)
EPISODE = {"episode_id": "ep-1", "force": "cleveland", "police_reference": "NB-2026-000123"}
FACTS = EpisodeFacts(
    force="cleveland",
    police_reference="NB-2026-000123",
    version=1,
    reported_at=AT,
    risk_grade=RiskGrade.HIGH,
    risk_factors=(RiskFactor.EXPLOITATION_CONCERN,),
    child=CHILD,
)
DECISION = {
    "decision_id": "d-1",
    "episode_id": "ep-1",
    "child_id": "child-1",
    "classification": Classification.MISSING,
    "rule_ids": ("M1-exploitation-marker",),
    "reasons": ("the child has an exploitation warning marker (cse)",),
    "ruleset_version": "2026.1",
    "decided_at": AT,
    "episode": FACTS,
}
TASK = {
    **EPISODE,
    "task_id": "rhi-1",
    "responsible_la": "E06000002",
    "host_la": "E06000004",
    "child": CHILD,
    "returned_at": RETURNED,
    "due_at": DUE,
    "at": RETURNED,
}
FINDINGS = Findings(
    pull_factors=(PullFactor.OLDER_ADULTS,),
    places=(Place(type=PlaceType.FLAT_OR_HOUSE, description="a flat in town"),),
    exploitation_indicators=(ExploitationIndicator.CSE, ExploitationIndicator.DRUGS),
    child_words="I went to see my mates.",
    interviewer_independent=True,
)
OUTCOME = {
    "delivery_id": "msg_1",
    "event_id": "ev-1",
    "event_type": "rhi.opened",
    "recipient_id": "middlesbrough-rhi",
    "audience": "social_care",
    "channel": "webhook",
    "attempts": 3,
    "episode_id": "ep-1",
    "at": AT,
}

SAMPLES: dict[type[Payload], Payload] = {
    EpisodeReported: EpisodeReported(**EPISODE, reported_at=AT, risk_grade=RiskGrade.MEDIUM, child=CHILD),
    EpisodeReturned: EpisodeReturned(**EPISODE, returned_at=RETURNED),
    EpisodeUpdated: EpisodeUpdated(
        **EPISODE,
        version=2,
        reported_at=AT,
        risk_grade=RiskGrade.HIGH,
        risk_factors=(RiskFactor.EXPLOITATION_CONCERN,),
        child=CHILD,
        kind=UpdateKind.REGRADE,
        reason="seen with older males",
        changed_fields=("risk_grade", "risk_factors"),
        updated_at=AT,
    ),
    EpisodeCancelled: EpisodeCancelled(**EPISODE, version=1, reason=CancelReason.REPORTED_IN_ERROR, cancelled_at=AT),
    EpisodeClassified: EpisodeClassified(**DECISION, trigger="reported"),
    EpisodeReclassified: EpisodeReclassified(
        **DECISION,
        trigger="still_open",
        previous_classification=Classification.ABSENT,
        reason="still open 24 hours after the report",
    ),
    ChildRepeatMissing: ChildRepeatMissing(
        child_id="child-1",
        rule_id="repeat-3-in-30-days",
        rule_description="3 episodes in 30 days",
        episode_count=3,
        episode_ids=("ep-1", "ep-2", "ep-3"),
        window_days=30,
        crossed_at=AT,
        responsible_la="E06000002",
        child=CHILD,
    ),
    ChildEpisodeLinked: ChildEpisodeLinked(
        episode_id="ep-1", child_id="child-1", previous_child_id=None, method="name_and_date_of_birth", at=AT
    ),
    ChildEpisodeUnlinked: ChildEpisodeUnlinked(
        episode_id="ep-1", child_id="child-2", previous_child_id="child-1", actor="key-1", reason="not her", at=AT
    ),
    RhiTaskOpened: RhiTaskOpened(**TASK, classification=Classification.MISSING),
    RhiReminderDue: RhiReminderDue(**TASK, after_return=timedelta(hours=24)),
    RhiTaskBreached: RhiTaskBreached(**TASK, status="open"),
    RhiTaskEscalated: RhiTaskEscalated(**TASK, step="head-of-service", after_breach=timedelta(hours=24)),
    RhiInterviewOffered: RhiInterviewOffered(**TASK, offered_at=RETURNED, method="phone"),
    RhiInterviewCompleted: RhiInterviewCompleted(**TASK, completed_at=RETURNED, on_time=True, findings=FINDINGS),
    RhiInterviewDeclined: RhiInterviewDeclined(**TASK, attempts=2),
    RhiInterviewNotPossible: RhiInterviewNotPossible(**TASK),
    RhiInterviewNotOffered: RhiInterviewNotOffered(
        **TASK, decided_by="team manager", reason_code=NotOfferedReason.RECENT_INTERVIEW_COVERS
    ),
    RhiTaskSuperseded: RhiTaskSuperseded(**TASK, superseded_by_episode_id="ep-2"),
    RhiTaskCancelled: RhiTaskCancelled(**TASK),
    RhiDueChanged: RhiDueChanged(
        **TASK, previous_returned_at=AT, previous_due_at=AT + timedelta(hours=72), status="open", on_time=None
    ),
    RhiTaskReassigned: RhiTaskReassigned(**TASK, previous_responsible_la="E06000003"),
    NotificationDelivered: NotificationDelivered(**OUTCOME),
    NotificationFailed: NotificationFailed(**OUTCOME, reason="HTTP 410 Gone"),
    NotificationReplayed: NotificationReplayed(**OUTCOME, actor="key-ops-1", reason="receiver fixed after outage"),
}
