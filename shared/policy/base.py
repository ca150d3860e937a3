"""What every policy section shares: strict models (unknown keys are errors) and common field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events.payloads.base import LA_CODE

LaCode = Annotated[str, Field(pattern=LA_CODE, description="ONS local-authority code, e.g. E06000002")]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Strict(BaseModel):
    """Policy models reject unknown keys, so a typo fails at start instead of being ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(Strict):
    """A service's part of the policy; `check` sees the local authorities the file declares."""

    def check(self, authorities: frozenset[str]) -> None:
        """Raise ValueError naming the key if the section refers to something the file does not declare."""
