"""The classifier's part of the policy: missing-vs-absent rules and repeat-missing rules (key `classifier`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from shared.policy.base import Section


class ClassifierPolicy(Section):
    """Thresholds and overrides a partnership may change; the defaults are DOMAIN.md's."""

    # An absent episode still open this long after the report is reclassified missing.
    absent_escalation_after: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(hours=24)
