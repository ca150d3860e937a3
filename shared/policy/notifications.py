"""The notifier's part of the policy: recipients, their channels and what each is told (key `notifications`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, model_validator

from shared.policy.base import Identifier, LaCode, Section, Strict

SECRET = r"^whsec_[A-Za-z0-9+/=]{16,}$"


class Audience(StrEnum):
    """Who a notice is for; each audience has its own field set."""

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


class Recipient(Strict):
    """An organisation role that receives notices about some events for one local authority."""

    id: Identifier
    organisation: str
    audience: Audience
    local_authority: LaCode
    events: Annotated[list[str], Field(min_length=1)]
    channels: Annotated[list[WebhookChannel], Field(min_length=1)]


class NotificationsPolicy(Section):
    """Recipients and routing."""

    recipients: list[Recipient] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> NotificationsPolicy:
        ids = [r.id for r in self.recipients]
        if len(ids) != len(set(ids)):
            raise ValueError("recipient ids must be unique")
        return self

    def check(self, authorities: frozenset[str]) -> None:
        """Every recipient serves a declared local authority."""
        for i, r in enumerate(self.recipients):
            if r.local_authority not in authorities:
                raise ValueError(f"recipients[{i}] ({r.id}) names unknown local authority {r.local_authority}")

    def recipients_for(self, event_type: str, local_authority: str) -> list[Recipient]:
        """Recipients of an event type for a local authority."""
        return [r for r in self.recipients if r.local_authority == local_authority and event_type in r.events]
