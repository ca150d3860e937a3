"""The classifier's part of the policy: missing-vs-absent rules and repeat-missing rules (key `classifier`).

Defaults are DOMAIN.md's. One section serves every partnership in the file; the effective section
is hashed into the rule-set version, so any change to it gives decisions a new version.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from shared.events.codes import EXPLOITATION_MARKERS, Classification, WarningMarker
from shared.policy.base import Identifier, Section, Strict

Positive = Annotated[timedelta, Field(gt=timedelta(0))]


class Override(StrEnum):
    """The overriding factors that make a no-apparent-risk episode missing; each can be turned off."""

    EXPLOITATION = "exploitation"
    UNDER_AGE = "under_age"
    OUT_OF_CHARACTER = "out_of_character"
    SUSPECTED_CRIME_VICTIM = "suspected_crime_victim"
    SELF_HARM_OR_SUICIDE_RISK = "self_harm_or_suicide_risk"
    MENTAL_HEALTH_NEED = "mental_health_need"
    LOOKED_AFTER_WHEREABOUTS_UNKNOWN = "looked_after_whereabouts_unknown"
    REPEAT_PATTERN = "repeat_pattern"
    STILL_OPEN = "still_open"


class RepeatPattern(Strict):
    """N episodes of the child (this one included) reported within D days make the episode missing."""

    count: Annotated[int, Field(ge=2)] = 3
    window: Positive = timedelta(days=30)


class RepeatRule(Strict):
    """A repeat-missing rule for the MSET list: `count` counted episodes within `window` (none: ever)."""

    id: Identifier
    description: Annotated[str, Field(min_length=1, max_length=200)]
    count: Annotated[int, Field(ge=1)]
    window: Positive | None = timedelta(days=30)
    classifications: Annotated[tuple[Classification, ...], Field(min_length=1)] = (
        Classification.MISSING,
        Classification.ABSENT,
    )
    # Count only episodes with an exploitation marker (warning marker or exploitation_concern).
    exploitation_only: bool = False


DEFAULT_REPEAT_RULES = (
    RepeatRule(id="repeat-3-in-30-days", description="3 or more episodes in 30 days", count=3),
    RepeatRule(
        id="exploitation-marker",
        description="an episode with an exploitation marker in 30 days",
        count=1,
        exploitation_only=True,
    ),
)


class ClassifierPolicy(Section):
    """Thresholds and overrides a partnership may change; the defaults are DOMAIN.md's."""

    # An absent episode still open this long after the report is reclassified missing.
    absent_escalation_after: Positive = timedelta(hours=24)
    # A child younger than this at the report is missing whatever the grade.
    under_age: Annotated[int, Field(ge=1, le=18)] = 12
    repeat_pattern: RepeatPattern = RepeatPattern()
    exploitation_markers: tuple[WarningMarker, ...] = tuple(sorted(EXPLOITATION_MARKERS))
    disabled_overrides: tuple[Override, ...] = ()
    repeat_rules: tuple[RepeatRule, ...] = DEFAULT_REPEAT_RULES
    # How the MSET list counts "episodes in window" (the first count rule's window when unset).
    list_window: Positive | None = None

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> ClassifierPolicy:
        ids = [r.id for r in self.repeat_rules]
        if len(ids) != len(set(ids)):
            raise ValueError("repeat_rules: each id may appear once")
        return self

    def enabled(self, override: Override) -> bool:
        """Whether an overriding rule is on."""
        return override not in self.disabled_overrides

    def window(self) -> timedelta:
        """The window the MSET list counts episodes in."""
        if self.list_window is not None:
            return self.list_window
        return next((r.window for r in self.repeat_rules if r.window is not None), timedelta(days=30))
