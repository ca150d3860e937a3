"""The partnership policy file: local authorities, recipients and timers, validated at start."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from shared.events.payloads import LA_CODE

SECRET = r"^whsec_[A-Za-z0-9+/=]{16,}$"


class Audience(StrEnum):
    """Who a notice is for; each audience has its own field set."""

    SOCIAL_CARE = "social_care"
    SCHOOL = "school"
    MSET = "mset"
    OPS = "ops"


class Strict(BaseModel):
    """Policy models reject unknown keys, so typos fail at start."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalAuthority(Strict):
    """A council in the partnership."""

    code: Annotated[str, Field(pattern=LA_CODE)]
    name: str


class WebhookChannel(Strict):
    """A Standard Webhooks endpoint; two secrets may be valid at once during rotation."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secrets: Annotated[list[Annotated[str, Field(pattern=SECRET)]], Field(min_length=1, max_length=2)]


class Recipient(Strict):
    """An organisation role that receives notices about some events for one local authority."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    organisation: str
    audience: Audience
    local_authority: Annotated[str, Field(pattern=LA_CODE)]
    events: Annotated[list[str], Field(min_length=1)]
    channels: Annotated[list[WebhookChannel], Field(min_length=1)]


class Policy(Strict):
    """One partnership's policy."""

    version: Literal[1] = 1
    partnership: str
    local_authorities: list[LocalAuthority]
    recipients: list[Recipient] = []

    @model_validator(mode="after")
    def _known_authorities(self) -> Policy:
        codes = {la.code for la in self.local_authorities}
        ids = [r.id for r in self.recipients]
        if len(ids) != len(set(ids)):
            raise ValueError("recipient ids must be unique")
        for r in self.recipients:
            if r.local_authority not in codes:
                raise ValueError(f"recipient {r.id} names unknown local authority {r.local_authority}")
        return self

    def recipients_for(self, event_type: str, local_authority: str) -> list[Recipient]:
        """Recipients of an event type for a local authority."""
        return [r for r in self.recipients if r.local_authority == local_authority and event_type in r.events]


class PolicyError(Exception):
    """The policy file is missing or invalid; the message names the problem."""


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file, or raise PolicyError with a one-line reason."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy file {path} is not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}".replace("\n", " ")) from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(f"policy file {path}: {describe_keys(exc)}") from None


def describe_keys(exc: ValidationError) -> str:
    """Name each problem by its key path as written in the YAML, e.g. recipients[0].channels; never echo values."""
    parts = []
    for err in exc.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        parts.append(f"{path or '(top level)'}: {err['msg']}")
    return "; ".join(parts)
