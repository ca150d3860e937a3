"""Policy recipients for throwaway runs (national year, chaos): one signed webhook each, to the run's receiver."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def secret(name: str) -> str:
    """A fixed Standard Webhooks secret per recipient (a throwaway run: derived, not random)."""
    return "whsec_" + base64.b64encode(hashlib.sha256(name.encode()).digest()[:24]).decode()


def webhook(recipient_id: str, receiver_port: int) -> dict[str, Any]:
    """One webhook channel to the run's receiver."""
    url = f"http://127.0.0.1:{receiver_port}/hooks/{recipient_id}"
    return {"type": "webhook", "url": url, "secrets": [secret(recipient_id)]}


def recipient(rid: str, role: str, audience: str, receiver_port: int, **scope: str) -> dict[str, Any]:
    """A recipient with one webhook channel, scoped by `scope` (local_authority=..., school_urn=...)."""
    organisation = f"{role} {next(iter(scope.values()))}"
    channels = [webhook(rid, receiver_port)]
    return {"id": rid, "organisation": organisation, "audience": audience, "role": role, **scope, "channels": channels}
