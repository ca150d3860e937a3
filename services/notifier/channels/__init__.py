"""Delivery channels behind one protocol; outcomes are values, never exceptions.

A channel sends one message to one recipient and says what happened: Delivered, RetryLater (with
the recipient's Retry-After, if any) or Failed (will never succeed). Webhooks (webhook.py) and
e-mail (email.py) implement it; Fallback picks, per recipient, the channel its policy names as
the fallback for statutory notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class Delivered:
    """The recipient accepted the notice."""

    detail: str = ""


@dataclass(frozen=True)
class RetryLater:
    """Try again; `after` is the recipient's Retry-After, if it sent one."""

    reason: str
    after: timedelta | None = None


@dataclass(frozen=True)
class Failed:
    """Will never succeed (e.g. 410 Gone, an unknown mailbox); dead-letter it."""

    reason: str


Outcome = Delivered | RetryLater | Failed


@dataclass(frozen=True)
class Message:
    """What a channel sends: a stable id for deduplication and the exact body (the notice as JSON)."""

    id: str
    body: str


class Channel(Protocol):
    """Sends one message to one recipient endpoint."""

    async def send(self, message: Message, recipient_id: str) -> Outcome: ...


FALLBACK = "fallback"


class Fallback:
    """The fallback channel of each recipient (a webhook or an e-mail), behind the same protocol."""

    def __init__(self, senders: Mapping[str, Channel], kinds: Mapping[str, str]) -> None:
        self._senders = senders  # by channel type
        self._kinds = kinds  # recipient id -> the type of its fallback channel

    async def send(self, message: Message, recipient_id: str) -> Outcome:
        """Send through the recipient's fallback channel."""
        kind = self._kinds.get(recipient_id)
        sender = self._senders.get(kind or "")
        if sender is None:
            return Failed(f"recipient {recipient_id} has no fallback channel in the policy")
        return await sender.send(message, recipient_id)
