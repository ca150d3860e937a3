"""Delivery channels behind one protocol; outcomes are values, never exceptions."""

from __future__ import annotations

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
    """Will never succeed (e.g. 410 Gone); dead-letter it."""

    reason: str


Outcome = Delivered | RetryLater | Failed


@dataclass(frozen=True)
class Message:
    """What a channel sends: a stable id for deduplication and the exact body."""

    id: str
    body: str


class Channel(Protocol):
    """Sends one message to one recipient endpoint."""

    async def send(self, message: Message, recipient_id: str) -> Outcome: ...
