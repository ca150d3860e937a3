"""Clocks tell aware UTC time; naive datetimes are refused."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.clock import FileClock, FrozenClock, SystemClock, ensure_utc, make_clock

PLUS_ONE = timezone(timedelta(hours=1))


def test_frozen_clock_starts_in_utc() -> None:
    clock = FrozenClock(datetime(2026, 6, 1, 13, 0, tzinfo=PLUS_ONE))
    assert clock.now() == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_frozen_clock_set_and_advance() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set(datetime(2026, 3, 1, 9, 30, tzinfo=PLUS_ONE))
    assert clock.now() == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    clock.advance(timedelta(hours=1, seconds=5))
    assert clock.now() == datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)


def test_frozen_clock_does_not_move_by_itself() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_ensure_utc_converts_offsets() -> None:
    result = ensure_utc(datetime(2026, 10, 23, 10, 0, tzinfo=PLUS_ONE))
    assert result == datetime(2026, 10, 23, 9, 0, tzinfo=UTC)
    assert result.tzinfo is UTC
    assert result.hour == 9


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(naive)
    with pytest.raises(ValueError, match="naive"):
        FrozenClock(naive)
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        clock.set(naive)


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= after


def test_file_clock_starts_at_the_written_instant_and_runs_on(tmp_path: Path) -> None:
    wall = [1000.0]
    path = tmp_path / "clock.json"
    FileClock.set(path, datetime(2026, 3, 6, 22, 40, tzinfo=UTC))
    state = json.loads(path.read_text())
    wall[0] = state["set_at"] + 90
    clock = FileClock(path, wall=lambda: wall[0])
    assert clock.now() == datetime(2026, 3, 6, 22, 41, 30, tzinfo=UTC)


def test_file_clock_follows_a_new_instant(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    FileClock.set(path, datetime(2026, 3, 6, 22, 40, tzinfo=UTC))
    clock = FileClock(path)
    first = clock.now()
    FileClock.set(path, datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a distinct mtime even on coarse filesystems
    jumped = clock.now()
    assert first < datetime(2026, 3, 6, 22, 41, tzinfo=UTC)
    assert datetime(2026, 3, 10, 9, 0, tzinfo=UTC) <= jumped < datetime(2026, 3, 10, 9, 1, tzinfo=UTC)
    assert jumped.tzinfo is UTC


def test_make_clock_is_the_system_clock_unless_a_file_is_given(tmp_path: Path) -> None:
    assert isinstance(make_clock(None), SystemClock)
    assert isinstance(make_clock(tmp_path / "clock.json"), FileClock)
