"""One source of "now": inject a Clock, never call datetime.now() elsewhere."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an absolute time."""
        self._now = ensure_utc(when)

    def advance(self, delta: timedelta) -> None:
        """Move forward by delta."""
        self._now += delta


def ensure_utc(value: datetime) -> datetime:
    """Return value in UTC; reject naive datetimes, which are ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: a timezone is required")
    return value.astimezone(UTC)


class FileClock:
    """A clock several processes share through a file: it holds an instant, and time runs on from it.

    Writing a new instant (FileClock.set) makes every process reading the file jump there, so an
    end-to-end test can reach "Friday 10:00" without waiting 72 hours. For tests and replays only
    (MCN_CLOCK_FILE); production runs on SystemClock.
    """

    def __init__(self, path: Path, wall: Callable[[], float] = time.time) -> None:
        self._path = path
        self._wall = wall
        self._seen = -1
        self._anchor = datetime.min.replace(tzinfo=UTC)
        self._set_at = 0.0

    def now(self) -> datetime:
        """The instant in the file plus the real time elapsed since it was written."""
        seen = os.stat(self._path).st_mtime_ns
        if seen != self._seen:
            state = json.loads(self._path.read_text(encoding="utf-8"))
            self._anchor, self._set_at = ensure_utc(datetime.fromisoformat(state["at"])), float(state["set_at"])
            self._seen = seen
        return self._anchor + timedelta(seconds=self._wall() - self._set_at)

    @staticmethod
    def set(path: Path, when: datetime) -> None:
        """Move every FileClock on this file to `when` (atomically: readers never see half a file)."""
        state = {"at": ensure_utc(when).isoformat(), "set_at": time.time()}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)


def make_clock(clock_file: Path | None) -> Clock:
    """The process clock: the real one, or a FileClock when MCN_CLOCK_FILE is set."""
    return SystemClock() if clock_file is None else FileClock(clock_file)
