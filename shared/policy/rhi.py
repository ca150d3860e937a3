"""The RHI tracker's part of the policy: who gets an interview, reminders and escalation (key `rhi`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, model_validator

from shared.policy.base import Identifier, Section, Strict

Offset = Annotated[timedelta, Field(gt=timedelta(0))]


class EscalationStep(Strict):
    """A step taken when a breached interview is still not done `after_breach` after its deadline."""

    id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    after_breach: Offset


class RhiPolicy(Section):
    """Interview policy; the statutory deadline itself is the MCN_RHI_DEADLINE setting (default PT72H)."""

    # An interview is offered for absent episodes too (DfE: "a child reported to the police as missing").
    rhi_for_absent: bool = True
    # Offsets after the return; only those before the deadline are sent, and only while the task is open.
    reminders: tuple[Offset, ...] = (timedelta(hours=24), timedelta(hours=48))
    escalations: tuple[EscalationStep, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> RhiPolicy:
        if list(self.reminders) != sorted(set(self.reminders)):
            raise ValueError("reminders: offsets must be distinct and in increasing order")
        offsets = [step.after_breach for step in self.escalations]
        if offsets != sorted(set(offsets)):
            raise ValueError("escalations: after_breach must be distinct and in increasing order")
        if len({step.id for step in self.escalations}) != len(self.escalations):
            raise ValueError("escalations: ids must be unique")
        return self
