"""What the classifier's use cases share: the policy, the clock and the rule-set version."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.classifier.rules import ruleset_version
from shared.clock import Clock
from shared.policy import Policy
from shared.policy.classifier import ClassifierPolicy


@dataclass(frozen=True)
class Context:
    """Built once in the composition root and passed to handlers, routes and sweeps."""

    policy: Policy
    clock: Clock
    version: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", ruleset_version(self.policy.classifier))

    @property
    def rules(self) -> ClassifierPolicy:
        """The classifier's policy section."""
        return self.policy.classifier
