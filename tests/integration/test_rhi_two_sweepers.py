"""Two tracker sweepers (separate OS processes) on one PostgreSQL database: each due task breaches exactly once,
and SIGKILLing one in the middle of a pass (rows locked, changes flushed, not committed) loses no breach.

The sweeper processes run this module:
`python -m tests.integration.test_rhi_two_sweepers <url> <now> <batch> <first hold> <hold>`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from devstack.postgres import PostgresServer
from services.rhi_tracker.models import Task
from services.rhi_tracker.sweep import deadline_sweep
from shared.clock import FrozenClock
from shared.db import make_engine, make_session_factory
from shared.outbox import OutboxMessage
from shared.policy.rhi import RhiPolicy
from shared.sweeps import Sweep, Sweeper
from tests.integration.test_rhi_handlers import H72, T0, Tracker, child, reported, returned
from tests.support import ROOT, upgrade

pytestmark = [pytest.mark.postgres]
TASKS = 60
NO_REMINDERS = RhiPolicy(reminders=())


async def sweep_until_done(url: str, now: datetime, batch: int, first_hold: float, hold: float) -> None:
    """A sweeper process: passes of `batch` rows, each holding its rows before commit (the first pass `first_hold`)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    clock = FrozenClock(now)
    base = deadline_sweep(policy=NO_REMINDERS, clock=clock, every=timedelta(seconds=1), batch=batch)

    passes = 0

    async def slow(session: AsyncSession, at: datetime) -> int:
        nonlocal passes
        handled = await base.work(session, at)
        await session.flush()  # the breach markers and outbox rows are written, not yet committed
        print(json.dumps({"claimed": handled}), flush=True)
        await asyncio.sleep(first_hold if passes == 0 else hold)
        passes += 1
        return handled

    sweeper = Sweeper(sessions=sessions, clock=clock, after_commit=lambda: print('{"committed": 1}', flush=True))
    sweep = Sweep(name=base.name, every=base.every, work=slow, batch=batch)
    try:
        while True:
            await sweeper.run(sweep)
            async with sessions() as session:
                due = await session.scalar(select(func.count()).where(Task.next_check_at <= now))
            if not due:  # rows another sweeper held may have come free since this pass
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    print(json.dumps({"done": sweeper.handled.get(base.name, 0)}), flush=True)


def start(url: str, now: datetime, batch: int, hold: float, first_hold: float | None = None) -> subprocess.Popen[str]:
    """A sweeper in its own process."""
    holds = [str(hold if first_hold is None else first_hold), str(hold)]
    cmd = [sys.executable, "-m", "tests.integration.test_rhi_two_sweepers", url, now.isoformat(), str(batch), *holds]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(proc: subprocess.Popen[str], key: str, count: int = 1) -> list[dict[str, int]]:
    """Read the process's JSON lines until `count` of them carry `key`."""
    assert proc.stdout is not None
    lines: list[dict[str, int]] = []
    while sum(key in line for line in lines) < count:
        raw = proc.stdout.readline()
        if not raw:
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"sweeper exited early ({proc.returncode}): {err[-2000:]}")
        if raw.startswith("{"):  # other lines are log output
            lines.append(json.loads(raw))
    return lines


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("t_" + uuid.uuid4().hex[:12])
    upgrade(url)
    return url


async def breaches(url: str) -> Counter[str]:
    """rhi.breached events per episode, as staged in the outbox."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "rhi.breached"))
            return Counter(json.loads(r.value)["data"]["episode_id"] for r in rows)
    finally:
        await engine.dispose()


async def seed(url: str) -> None:
    engine = make_engine(url)
    try:
        tracker = Tracker(make_session_factory(engine), policy=NO_REMINDERS)
        for i in range(TASKS):
            who = child(person=f"P-{i}")
            await tracker.deliver(
                reported(f"e{i}", T0 - timedelta(hours=1), who=who), returned(f"e{i}", T0 + i * timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


async def test_two_sweeper_processes_breach_each_task_exactly_once_even_when_one_is_killed_mid_pass(
    pg_url: str,
) -> None:
    await seed(pg_url)
    now = T0 + H72 + timedelta(minutes=5)  # every task is due
    # The doomed sweeper commits one pass, then holds its second (rows locked, flushed) until it is killed;
    # the survivor skips the locked rows meanwhile, so the kill always lands mid-pass, however loaded the machine.
    doomed = start(pg_url, now, batch=5, first_hold=0.05, hold=60)
    survivor = start(pg_url, now, batch=5, hold=0.05)
    try:
        read_until(doomed, "committed")  # it has done real work ...
        read_until(survivor, "claimed")  # ... the other is sweeping too ...
        [*_, holding] = read_until(doomed, "claimed")  # ... and now it holds a pass, flushed, uncommitted
        assert holding["claimed"] > 0
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        lines = read_until(survivor, "done")
        survivor.wait(timeout=30)
    finally:
        for proc in (doomed, survivor):
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    assert survivor.returncode == 0
    survivor_handled = lines[-1]["done"]
    counted = await breaches(pg_url)
    assert counted == Counter({f"e{i}": 1 for i in range(TASKS)}), "every task breached, none twice"
    assert 0 < survivor_handled < TASKS, "both processes did part of the work"


async def test_two_sweeper_processes_share_the_due_tasks(pg_url: str) -> None:
    await seed(pg_url)
    now = T0 + H72 + timedelta(minutes=5)
    procs = [start(pg_url, now, batch=4, hold=0.05) for _ in range(2)]
    try:
        done = [read_until(p, "done")[-1]["done"] for p in procs]
        for p in procs:
            p.wait(timeout=30)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=10)
    assert sum(done) == TASKS
    assert await breaches(pg_url) == Counter({f"e{i}": 1 for i in range(TASKS)})


if __name__ == "__main__":
    url, at, batch = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
    asyncio.run(sweep_until_done(url, at, batch, float(sys.argv[4]), float(sys.argv[5])))
