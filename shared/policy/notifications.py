"""The notifier's part of the policy: recipients, routing rules and timing (key `notifications`).

Recipients are organisations in a role (children's services, RHI provider, school DSL, MSET
coordinator, ops, police intelligence), each scoped to one local authority, school, partnership
or force, with their channels. Rules choose recipients for an event: "send events E, when the
facts match, to role R of scope S". Without a `rules` key the defaults below apply (DOMAIN.md,
"The people and the flow" and "Data protection").
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    field_validator,
    model_validator,
)

from shared.events.codes import EXPLOITATION_MARKERS, Classification, RiskGrade, WarningMarker
from shared.events.registry import TOPIC_OF
from shared.policy.base import Identifier, LaCode, Section, Strict

SECRET = r"^whsec_[A-Za-z0-9+/=]{16,}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Urn = Annotated[str, Field(pattern=r"^[0-9]{6,7}$", description="DfE school URN")]


def _hhmm(value: object) -> object:
    """Times are written "HH:MM" in quotes (YAML reads an unquoted 9:00 as the number 540)."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError('write times as "HH:MM" in quotes, e.g. "08:00"')
    return value


ClockTime = Annotated[time, BeforeValidator(_hhmm)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value}") from None
    return value


TimeZone = Annotated[str, AfterValidator(_zone)]


class Audience(StrEnum):
    """Who a notice is for; each audience has its own field set (services/notifier/fieldsets.py)."""

    SOCIAL_CARE = "social_care"
    SCHOOL = "school"
    MSET = "mset"
    OPS = "ops"
    POLICE = "police"


class WebhookChannel(Strict):
    """A Standard Webhooks endpoint; two secrets may be valid at once during rotation."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secrets: Annotated[list[Annotated[str, Field(pattern=SECRET)]], Field(min_length=1, max_length=2)]


class EmailChannel(Strict):
    """E-mail through the deployment's SMTP relay (MCN_SMTP_* settings)."""

    type: Literal["email"]
    to: Annotated[list[Annotated[str, Field(pattern=EMAIL)]], Field(min_length=1, max_length=10)]


def _channel_type(value: Any) -> str:
    return str(value.get("type", "webhook") if isinstance(value, dict) else getattr(value, "type", "webhook"))


Channel = Annotated[
    Annotated[WebhookChannel, Tag("webhook")] | Annotated[EmailChannel, Tag("email")], Discriminator(_channel_type)
]


class Recipient(Strict):
    """An organisation in a role, scoped to exactly one local authority, school, partnership or force."""

    id: Identifier
    organisation: str
    audience: Audience
    role: Identifier
    local_authority: LaCode | None = None
    school_urn: Urn | None = None
    partnership: Identifier | None = None
    force: Identifier | None = None
    channels: Annotated[list[Channel], Field(min_length=1)]
    # Used only for statutory notices whose delivery died on every channel above.
    fallback: Channel | None = None

    @model_validator(mode="after")
    def _one_scope_one_channel_per_type(self) -> Recipient:
        scopes = [self.local_authority, self.school_urn, self.partnership, self.force]
        if sum(s is not None for s in scopes) != 1:
            raise ValueError("give exactly one of local_authority, school_urn, partnership, force")
        types = [c.type for c in self.channels]
        if len(types) != len(set(types)):
            raise ValueError("channels: at most one channel of each type")
        return self


class Scope(StrEnum):
    """Where a rule looks for recipients of a role, relative to the event."""

    RESPONSIBLE_LA = "responsible_la"
    HOST_LA = "host_la"  # only when the child is placed out of area
    SCHOOL = "school"
    PARTNERSHIP = "partnership"  # the partnership of the responsible local authority
    FORCE = "force"


class Timing(StrEnum):
    """When a notice goes out."""

    IMMEDIATE = "immediate"
    SCHOOL_MORNING = "school_morning"  # held, released before the next school day
    DIGEST = "digest"  # held, released in one digest per recipient on the digest schedule


class Target(Strict):
    """Recipients in `role` for the event's `of` (e.g. childrens_services of the host LA)."""

    role: Identifier
    of: Scope


class When(Strict):
    """Facts an event must match; an empty list means any value."""

    classification: list[Classification] = []
    risk_grade: list[RiskGrade] = []
    markers: list[WarningMarker] = []  # any of these warning markers
    exploitation_indicators: bool | None = None  # interview findings name at least one
    responsible_la: list[LaCode] = []
    host_la: list[LaCode] = []
    out_of_area: bool | None = None
    school_urn: list[Urn] = []


class Rule(Strict):
    """Send these events, when the facts match, to these targets with this timing."""

    id: Identifier
    events: Annotated[list[str], Field(min_length=1)]
    when: When = When()
    send_to: Annotated[list[Target], Field(min_length=1)]
    timing: Timing = Timing.IMMEDIATE
    # Statutory notices fall back to the recipient's fallback channel when delivery dies.
    statutory: bool = False

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str]) -> list[str]:
        unknown = [e for e in events if e not in TOPIC_OF]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]}")
        return events


def _rule(rule_id: str, events: list[str], send_to: list[tuple[str, Scope]], **kw: Any) -> Rule:
    targets = [Target(role=role, of=of) for role, of in send_to]
    return Rule(id=rule_id, events=events, send_to=targets, **kw)


DECISIONS = ["episode.classified", "episode.reclassified"]
TASK_CHANGES = ["rhi.opened", "rhi.reminder", "rhi.due_changed", "rhi.superseded", "rhi.cancelled"]
LA = Scope.RESPONSIBLE_LA
DEFAULT_RULES: tuple[Rule, ...] = (
    _rule(
        "missing-to-social-care",
        DECISIONS,
        [("childrens_services", LA), ("childrens_services", Scope.HOST_LA)],
        when=When(classification=[Classification.MISSING]),
    ),
    _rule(
        "absent-to-social-care",
        DECISIONS,
        [("childrens_services", LA)],
        when=When(classification=[Classification.ABSENT]),
    ),
    _rule(
        "exploitation-marker-to-mset",
        DECISIONS,
        [("mset", Scope.PARTNERSHIP)],
        when=When(markers=sorted(EXPLOITATION_MARKERS)),
    ),
    _rule("repeat-missing-to-mset", ["child.repeat_missing"], [("mset", Scope.PARTNERSHIP)]),
    _rule(
        "missing-to-school",
        DECISIONS,
        [("dsl", Scope.SCHOOL)],
        when=When(classification=[Classification.MISSING]),
        timing=Timing.SCHOOL_MORNING,
    ),
    _rule("task-to-rhi-provider", TASK_CHANGES, [("rhi_provider", LA)], statutory=True),
    _rule("findings-to-social-worker", ["rhi.completed"], [("childrens_services", LA)]),
    _rule(
        "findings-to-mset",
        ["rhi.completed"],
        [("mset", Scope.PARTNERSHIP)],
        when=When(exploitation_indicators=True),
    ),
    _rule("findings-to-police", ["rhi.completed"], [("police_intelligence", Scope.FORCE)]),
    _rule(
        "breach-to-ops-and-missing-lead",
        ["rhi.breached", "rhi.escalated"],
        [("ops", Scope.PARTNERSHIP), ("missing_lead", LA)],
        statutory=True,
    ),
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SchoolMornings(Strict):
    """School notices are held and released at `release_at` on the next school day."""

    release_at: ClockTime = time(8, 0)
    timezone: TimeZone = "Europe/London"
    holidays: list[date] = []  # no school on these dates (weekends are always skipped)


class DigestSchedule(Strict):
    """When held digest notices are released (local times in `timezone`)."""

    times: Annotated[list[ClockTime], Field(min_length=1)] = [time(9, 0)]
    days: Annotated[list[Weekday], Field(min_length=1)] = list(WEEKDAYS[:5])
    timezone: TimeZone = "Europe/London"


class NotificationsPolicy(Section):
    """Recipients, routing rules and timing."""

    recipients: list[Recipient] = []
    rules: list[Rule] | None = None  # None: DEFAULT_RULES
    school_mornings: SchoolMornings = SchoolMornings()
    digest: DigestSchedule | None = None
    # Shown to schools as the local authority to contact, by LA code.
    local_authority_contacts: dict[LaCode, Annotated[str, Field(min_length=1, max_length=200)]] = {}
    # Dead letters raise an alert to recipients in this role of the delivery's partnership.
    alert_role: Identifier = "ops"

    @model_validator(mode="after")
    def _unique_ids(self) -> NotificationsPolicy:
        ids = [r.id for r in self.recipients]
        if len(ids) != len(set(ids)):
            raise ValueError("recipient ids must be unique")
        rule_ids = [r.id for r in self.rules or ()]
        if len(rule_ids) != len(set(rule_ids)):
            raise ValueError("rule ids must be unique")
        for i, rule in enumerate(self.rules or ()):
            if rule.timing is Timing.DIGEST and self.digest is None:
                raise ValueError(f"rules[{i}] ({rule.id}) has timing digest but no digest schedule is given")
        return self

    @property
    def effective_rules(self) -> tuple[Rule, ...]:
        """The rules in force: the file's, or the defaults."""
        return DEFAULT_RULES if self.rules is None else tuple(self.rules)

    def check(self, authorities: frozenset[str]) -> None:
        """Every local authority named is declared; every role a written rule names has a recipient."""
        for i, r in enumerate(self.recipients):
            if r.local_authority is not None and r.local_authority not in authorities:
                raise ValueError(f"recipients[{i}] ({r.id}) names unknown local authority {r.local_authority}")
        for code in self.local_authority_contacts:
            if code not in authorities:
                raise ValueError(f"local_authority_contacts names unknown local authority {code}")
        roles = {r.role for r in self.recipients}
        for i, rule in enumerate(self.rules or ()):
            for field in ("responsible_la", "host_la"):
                unknown = [c for c in getattr(rule.when, field) if c not in authorities]
                if unknown:
                    raise ValueError(f"rules[{i}] ({rule.id}).when.{field} names unknown local authority {unknown[0]}")
            for j, target in enumerate(rule.send_to):
                if target.role not in roles:
                    raise ValueError(f"rules[{i}] ({rule.id}).send_to[{j}]: no recipient has role {target.role}")

    def recipient(self, recipient_id: str) -> Recipient | None:
        """A recipient by id."""
        return self._by_id.get(recipient_id)

    def with_role(self, role: str) -> tuple[Recipient, ...]:
        """The recipients in a role, in file order."""
        return self._by_role.get(role, ())

    # Routing looks recipients up for every event; a national policy has hundreds of them.
    @cached_property
    def _by_id(self) -> dict[str, Recipient]:
        return {r.id: r for r in self.recipients}

    @cached_property
    def _by_role(self) -> dict[str, tuple[Recipient, ...]]:
        roles = dict.fromkeys(r.role for r in self.recipients)
        return {role: tuple(r for r in self.recipients if r.role == role) for role in roles}
