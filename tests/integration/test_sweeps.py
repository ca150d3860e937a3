"""Sweeps claim due rows in one transaction per pass, on SQLite and PostgreSQL, and APScheduler runs them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ApiKey
from shared.clock import FrozenClock
from shared.sweeps import Sweep, Sweeper, claim
from tests.support import eventually

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


async def seed(sessions: async_sessionmaker[AsyncSession], n: int) -> None:
    """Rows with a deadline: API keys whose 'created_at' stands in for a due time, one a minute."""
    async with sessions() as session, session.begin():
        for i in range(n):
            due = NOW - timedelta(minutes=n - i - 1)
            session.add(ApiKey(id=f"k{i}", key_hash=f"h{i}", role="ops", tenant="t", label="x", created_at=due))


def revoke_due(batch: int) -> Sweep:
    """Revoke keys 'due' by now, at most `batch` per pass: a stand-in for a breach sweep."""

    async def work(session: AsyncSession, now: datetime) -> int:
        query = select(ApiKey.id).where(ApiKey.revoked_at.is_(None), ApiKey.created_at <= now).limit(batch)
        ids = list((await session.scalars(claim(query, session))).all())
        if ids:
            await session.execute(update(ApiKey).where(ApiKey.id.in_(ids)).values(revoked_at=now))
        return len(ids)

    return Sweep(name="revoke", every=timedelta(milliseconds=50), work=work, batch=batch)


async def revoked(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).where(ApiKey.revoked_at.is_not(None))) or 0)


async def test_a_pass_handles_only_due_rows_and_repeats_while_batches_are_full(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions, 7)
    clock = FrozenClock(NOW - timedelta(minutes=2))  # the last two rows are not yet due
    commits: list[int] = []
    sweeper = Sweeper(sessions=sessions, clock=clock, after_commit=lambda: commits.append(1))
    sweep = revoke_due(batch=2)
    assert await sweeper.run(sweep) == 5
    assert len(commits) == 3, "full passes (2, 2) run again at once; the third (1) ends the run"
    assert await sweeper.run(sweep) == 0, "a second run finds nothing: handled rows are not due again"
    clock.set(NOW)
    assert await sweeper.run(sweep) == 2
    assert await revoked(sessions) == 7
    assert sweeper.handled == {"revoke": 7}


async def test_the_scheduler_runs_sweeps_until_stopped(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions, 3)
    clock = FrozenClock(NOW - timedelta(hours=1))
    sweeper = Sweeper(sessions=sessions, clock=clock, after_commit=lambda: None, sweeps=[revoke_due(batch=10)])
    sweeper.start()
    try:
        await asyncio.sleep(0.2)
        assert await revoked(sessions) == 0, "nothing is due yet"
        clock.set(NOW)  # the scheduler ticks on wall time; what is due follows the injected clock
        await eventually(lambda: all_revoked(sessions, 3), timeout=5)
    finally:
        await sweeper.stop()


async def all_revoked(sessions: async_sessionmaker[AsyncSession], n: int) -> bool:
    return await revoked(sessions) == n
