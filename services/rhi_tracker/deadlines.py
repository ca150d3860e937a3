"""Pure deadline arithmetic: absolute clock hours in UTC, so clock changes cannot shift a deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import ensure_utc


def due_at(returned_at: datetime, deadline: timedelta) -> datetime:
    """The interview is due `deadline` after the return, counted in elapsed hours."""
    return ensure_utc(returned_at) + deadline
