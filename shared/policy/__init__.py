"""The partnership policy file: one YAML document, validated at start.

Top level: the partnerships and the local authorities they are made of. Each service owns a
section with its own model: `classifier` (shared/policy/classifier.py), `rhi` (rhi.py),
`notifications` (notifications.py). Unknown keys anywhere are errors that name the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from shared.policy.base import Identifier, LaCode, Strict
from shared.policy.classifier import ClassifierPolicy
from shared.policy.notifications import NotificationsPolicy
from shared.policy.rhi import RhiPolicy


class LocalAuthority(Strict):
    """A council in the partnership."""

    code: LaCode
    name: str


class Partnership(Strict):
    """A safeguarding partnership: the tenant of MSET and ops principals."""

    id: Identifier
    name: str
    local_authorities: Annotated[list[LaCode], Field(min_length=1)]


class Policy(Strict):
    """Every partnership this deployment serves, and each service's section."""

    version: Literal[1] = 1
    partnerships: Annotated[list[Partnership], Field(min_length=1)]
    local_authorities: Annotated[list[LocalAuthority], Field(min_length=1)]
    classifier: ClassifierPolicy = ClassifierPolicy()
    rhi: RhiPolicy = RhiPolicy()
    notifications: NotificationsPolicy = NotificationsPolicy()

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        codes = [la.code for la in self.local_authorities]
        if len(codes) != len(set(codes)):
            raise ValueError("local_authorities: each code may appear once")
        seen: dict[str, str] = {}
        for i, p in enumerate(self.partnerships):
            for code in p.local_authorities:
                if code not in codes:
                    raise ValueError(f"partnerships[{i}] ({p.id}) names undeclared local authority {code}")
                if code in seen:
                    raise ValueError(f"local authority {code} is in partnerships {seen[code]} and {p.id}")
                seen[code] = p.id
        if len({p.id for p in self.partnerships}) != len(self.partnerships):
            raise ValueError("partnerships: ids must be unique")
        for section in (self.classifier, self.rhi, self.notifications):
            section.check(frozenset(codes))
        return self

    def partnership_of(self, la_code: str) -> str | None:
        """The id of the partnership a local authority belongs to, if any."""
        return next((p.id for p in self.partnerships if la_code in p.local_authorities), None)

    def authorities_of(self, partnership_id: str) -> frozenset[str]:
        """The local-authority codes of a partnership (empty if unknown)."""
        return next((frozenset(p.local_authorities) for p in self.partnerships if p.id == partnership_id), frozenset())

    def authority_name(self, la_code: str) -> str | None:
        """A local authority's name, if declared."""
        return next((la.name for la in self.local_authorities if la.code == la_code), None)


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
    """Name each problem by its key path as written in the YAML, e.g. notifications.recipients[0]; never echo values."""
    parts = []
    for err in exc.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        parts.append(f"{path or '(top level)'}: {err['msg']}")
    return "; ".join(parts)
