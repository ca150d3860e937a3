"""The RHI tracker's part of the policy: who gets an interview, reminders and escalation (key `rhi`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from shared.policy.base import Section

Offset = Annotated[timedelta, Field(gt=timedelta(0))]


class RhiPolicy(Section):
    """Interview policy; the statutory deadline itself is the MCN_RHI_DEADLINE setting (default PT72H)."""

    rhi_for_absent: bool = True
    reminders: tuple[Offset, ...] = (timedelta(hours=24), timedelta(hours=48))
