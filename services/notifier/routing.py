"""Routing: the facts of an event, the rules they match, and the recipients those rules choose. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.notifier.notices import builder_for
from shared.events.codes import Classification, RiskGrade, WarningMarker
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.classifier import ChildRepeatMissing, DecisionBase
from shared.events.payloads.rhi import RhiInterviewCompleted, RhiTaskOpened, TaskEvent
from shared.policy import Policy, PolicyError
from shared.policy.notifications import Audience, Recipient, Rule, Scope, Target, Timing, When


@dataclass(frozen=True)
class Facts:
    """What rules look at, taken from one event."""

    responsible_la: str
    host_la: str | None = None
    school_urn: str | None = None
    force: str | None = None
    classification: Classification | None = None
    risk_grade: RiskGrade | None = None
    markers: frozenset[WarningMarker] = frozenset()
    exploitation_indicators: bool = False
    episode_id: str | None = None
    child_id: str | None = None

    @property
    def out_of_area(self) -> bool:
        """Placed in another authority than the one responsible for the child."""
        return self.host_la is not None and self.host_la != self.responsible_la


def _facts(child: ChildRecord, responsible_la: str, host_la: str | None, **more: Any) -> Facts:
    markers = frozenset(child.warning_markers)
    return Facts(responsible_la=responsible_la, host_la=host_la, school_urn=child.school_urn, markers=markers, **more)


def facts_of(payload: Payload) -> Facts | None:
    """The routing facts of an event, or None if it is not about a child the rules can route."""
    if isinstance(payload, DecisionBase):
        e = payload.episode
        return _facts(
            e.child,
            e.child.responsible_la,
            e.child.host_la,
            force=e.force,
            classification=payload.classification,
            risk_grade=e.risk_grade.mapped,
            episode_id=payload.episode_id,
            child_id=payload.child_id,
        )
    if isinstance(payload, ChildRepeatMissing):
        last = payload.episode_ids[-1] if payload.episode_ids else None
        return _facts(
            payload.child, payload.responsible_la, payload.host_la, episode_id=last, child_id=payload.child_id
        )
    if isinstance(payload, TaskEvent):
        findings = payload.findings if isinstance(payload, RhiInterviewCompleted) else None
        return _facts(
            payload.child,
            payload.responsible_la,
            payload.host_la,
            force=payload.force,
            classification=payload.classification if isinstance(payload, RhiTaskOpened) else None,
            exploitation_indicators=bool(findings and findings.exploitation_indicators),
            episode_id=payload.episode_id,
        )
    return None


def matches(when: When, facts: Facts) -> bool:
    """Every condition the rule gives holds for these facts."""
    checks = [
        not when.classification or facts.classification in when.classification,
        not when.risk_grade or facts.risk_grade in when.risk_grade,
        not when.markers or bool(facts.markers & set(when.markers)),
        when.exploitation_indicators is None or when.exploitation_indicators == facts.exploitation_indicators,
        not when.responsible_la or facts.responsible_la in when.responsible_la,
        not when.host_la or facts.host_la in when.host_la,
        when.out_of_area is None or when.out_of_area == facts.out_of_area,
        not when.school_urn or facts.school_urn in when.school_urn,
    ]
    return all(checks)


def in_scope(recipient: Recipient, target: Target, facts: Facts, policy: Policy) -> bool:
    """Whether a recipient is the target role for this event's LA, school, partnership or force."""
    if recipient.role != target.role:
        return False
    match target.of:
        case Scope.RESPONSIBLE_LA:
            return recipient.local_authority == facts.responsible_la
        case Scope.HOST_LA:
            return facts.out_of_area and recipient.local_authority == facts.host_la
        case Scope.SCHOOL:
            return facts.school_urn is not None and recipient.school_urn == facts.school_urn
        case Scope.PARTNERSHIP:
            partnership = policy.partnership_of(facts.responsible_la)
            return partnership is not None and recipient.partnership == partnership
        case Scope.FORCE:
            return facts.force is not None and recipient.force == facts.force


@dataclass(frozen=True)
class Selected:
    """A recipient chosen for an event, and the rule that chose it (its timing and whether statutory)."""

    recipient: Recipient
    rule: Rule


def choose(policy: Policy, event_type: str, facts: Facts) -> list[Selected]:
    """Each recipient the rules choose for the event, once; the first rule naming a recipient decides."""
    chosen: dict[str, Selected] = {}
    for rule in policy.notifications.effective_rules:
        if event_type not in rule.events or not matches(rule.when, facts):
            continue
        for target in rule.send_to:
            for r in policy.notifications.with_role(target.role):
                if r.id not in chosen and in_scope(r, target, facts, policy):
                    chosen[r.id] = Selected(r, rule)
    return list(chosen.values())


def validate(policy: Policy) -> None:
    """Refuse a policy whose rules would tell an audience what it may not see; errors name the key."""
    section = policy.notifications
    partnerships = {p.id for p in policy.partnerships}
    for i, r in enumerate(section.recipients):
        if r.partnership is not None and r.partnership not in partnerships:
            raise PolicyError(f"notifications.recipients[{i}] ({r.id}) names unknown partnership {r.partnership}")
    for i, rule in enumerate(section.effective_rules):
        where = f"notifications.rules[{i}] ({rule.id})"
        for j, target in enumerate(rule.send_to):
            for audience in sorted({r.audience for r in section.recipients if r.role == target.role}):
                _check_audience(f"{where}.send_to[{j}]", rule, target, audience)


def _check_audience(where: str, rule: Rule, target: Target, audience: Audience) -> None:
    for event_type in rule.events:
        if builder_for(event_type, audience) is None:
            raise PolicyError(f"{where}: role {target.role} (audience {audience}) has no notice for {event_type}")
    if (audience is Audience.SCHOOL) != (rule.timing is Timing.SCHOOL_MORNING):
        raise PolicyError(f"{where}: school notices, and only they, have timing school_morning")
