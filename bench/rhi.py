"""Benchmark: breach detection lag and sweep cost of the RHI tracker, with 10,000 and 1,000,000 open tasks.

    .venv/bin/python -m bench.rhi [--open 10000 1000000] [--duration 60] [--rate 1000] [--interval 1.0]

On a throwaway PostgreSQL server (devstack.postgres), in one run: for each size, the open tasks that are
not due are bulk inserted (generate_series), then for `--duration` seconds of real time `--rate` tasks a
minute fall due while the sweep runs every `--interval` seconds, exactly as the service runs it
(services/rhi_tracker/sweep.py through shared/sweeps.Sweeper, on the real clock). Measured:

- breach detection lag per task: the commit of the pass that recorded its breach minus its due time;
- sweep cost: wall and process-CPU time per pass (claim, events, commit), and the cost of a pass
  that finds nothing due; plus EXPLAIN (ANALYZE, BUFFERS) of the claim query: the pages it touches.

Targets: lag p99 <= 2 s; sweep cost independent of the number of open tasks that are not due.
Results go to bench/results/rhi-<time>.json. Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devstack.postgres import start_postgres
from services.rhi_tracker.models import Task
from services.rhi_tracker.sweep import deadline_sweep
from shared.clock import SystemClock
from shared.db import make_engine, make_session_factory
from shared.logging import configure_logging
from shared.policy.rhi import RhiPolicy
from shared.sweeps import Sweep, Sweeper

ROOT = Path(__file__).resolve().parent.parent
LAS = ("E06000001", "E06000002", "E06000003", "E06000004")
TARGET_P99_S = 2.0
POLICY = RhiPolicy()  # reminders at 24 h and 48 h, as shipped

EPISODES_SQL = """
INSERT INTO rhi_episodes (episode_id, force, police_reference, episode_version, responsible_la, host_la,
  looked_after, police_person_id, child_id, child, risk_grade, reported_at, classification, returned_at, cancelled_at)
SELECT CAST(:prefix AS text) || i, 'bench', 'B-' || CAST(:prefix AS text) || i, 1,
  (ARRAY[{las}])[1 + i % 4], NULL, i % 3 = 0, NULL, NULL,
  json_build_object('given_name', 'Bench', 'family_name', 'Child', 'date_of_birth', '2012-01-01',
                    'responsible_la', (ARRAY[{las}])[1 + i % 4]),
  'medium', CAST(:returned AS timestamptz) - interval '5 hours', 'missing', CAST(:returned AS timestamptz), NULL
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
"""
TASKS_SQL = """
INSERT INTO rhi_tasks (id, episode_id, responsible_la, host_la, status, version, returned_at, due_at, opened_at,
  updated_at, reminders_sent, escalations_sent, next_check_at)
SELECT CAST(:prefix AS text) || i, CAST(:prefix AS text) || i, (ARRAY[{las}])[1 + i % 4], NULL, 'open', 1,
  back, back + interval '72 hours', back, back, CAST(:reminders_sent AS integer), 0,
  back + CAST(:first_check AS interval)
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i,
  LATERAL (SELECT CAST(:returned AS timestamptz) + (i - CAST(:first AS integer)) * CAST(:step AS interval) AS back) AS t
"""
CLAIM_SQL = (
    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM rhi_tasks WHERE next_check_at <= :now "
    "ORDER BY next_check_at LIMIT 500 FOR UPDATE SKIP LOCKED"
)


@dataclass
class Phase:
    """What one size measured."""

    open_tasks: int
    fell_due: int = 0
    breached: int = 0
    lag_p50_s: float = 0.0
    lag_p99_s: float = 0.0
    lag_max_s: float = 0.0
    passes: int = 0
    pass_ms_mean: float = 0.0
    pass_ms_p99: float = 0.0
    pass_cpu_ms_mean: float = 0.0
    tasks_per_pass_mean: float = 0.0
    empty_pass_ms_median: float = 0.0
    claim_plan: str = ""
    claim_buffers: int = 0
    claim_ms: float = 0.0
    insert_s: float = 0.0
    notes: list[str] = field(default_factory=list)


async def bulk(
    engine: AsyncEngine,
    *,
    prefix: str,
    count: int,
    returned: datetime,
    step: timedelta,
    first_check: timedelta,
    reminders_sent: int,
) -> None:
    """Insert `count` episodes and open tasks in one statement each (chunks keep memory flat)."""
    las = ", ".join(f"'{la}'" for la in LAS)
    chunk = 200_000
    for start in range(0, count, chunk):
        last = min(start + chunk, count) - 1
        params = {"prefix": prefix, "first": start, "last": last, "returned": returned}
        async with engine.begin() as conn:
            await conn.execute(text(EPISODES_SQL.format(las=las)), params)
            task_params = {**params, "step": step, "first_check": first_check, "reminders_sent": reminders_sent}
            # rows of one chunk start their offsets at its first index
            task_params["returned"] = returned + start * step
            await conn.execute(text(TASKS_SQL.format(las=las)), task_params)


async def grow(engine: AsyncEngine, *, to: int, have: int, now: datetime) -> tuple[int, float]:
    """Add open tasks that are not due during the run (next check a day away) until `to` exist."""
    started = time.monotonic()
    add = to - have
    if add > 0:
        # returned just now: the first reminder is 24 h away, spread over an hour so the index is realistic
        await bulk(
            engine,
            prefix=f"idle-{have}-",
            count=add,
            returned=now,
            step=timedelta(milliseconds=3.6),
            first_check=timedelta(hours=24),
            reminders_sent=0,
        )
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE rhi_tasks"))
            await conn.execute(text("VACUUM ANALYZE rhi_episodes"))
    return to, time.monotonic() - started


async def claim_plan(engine: AsyncEngine, now: datetime) -> tuple[str, int, float]:
    """The claim query's plan, shared buffers touched and execution time, at `now`."""
    async with engine.connect() as conn:
        raw = (await conn.execute(text(CLAIM_SQL), {"now": now})).scalar_one()
        await conn.rollback()  # EXPLAIN ANALYZE took the row locks: let them go
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]
    node = plan["Plan"]
    names = []
    while node:
        names.append(node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else ""))
        node = (node.get("Plans") or [None])[0]
    top = plan["Plan"]
    buffers = int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
    return " > ".join(names), buffers, float(plan["Execution Time"])


async def empty_pass_ms(sessions: async_sessionmaker[AsyncSession], sweep: Sweep, now: datetime, n: int = 20) -> float:
    """Median wall time of a pass that finds nothing due (claim + commit)."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            assert await sweep.work(session, now) == 0
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 when empty)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


def migrate(url: str) -> None:
    """Upgrade the schema with the project's own command."""
    cmd = [sys.executable, "-m", "alembic", "-c", "alembic.ini", "-x", f"url={url}", "upgrade", "head"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)


async def measure(engine: AsyncEngine, args: argparse.Namespace, open_tasks: int, insert_s: float) -> Phase:
    """Let `rate` tasks a minute fall due for `duration` seconds while the sweep runs every `interval`."""
    phase = Phase(open_tasks=open_tasks, insert_s=round(insert_s, 1))
    sessions = make_session_factory(engine)
    clock = SystemClock()
    count = int(args.rate * args.duration / 60)
    lead = timedelta(seconds=3)
    first_due = clock.now() + lead
    prefix = f"due-{uuid.uuid4().hex[:6]}-"
    step = timedelta(seconds=60 / args.rate)
    # Their reminders are past (sent): the next check is the deadline itself.
    await bulk(
        engine,
        prefix=prefix,
        count=count,
        returned=first_due - timedelta(hours=72),
        step=step,
        first_check=timedelta(hours=72),
        reminders_sent=2,
    )
    phase.fell_due = count
    sweep = deadline_sweep(policy=POLICY, clock=clock, every=timedelta(seconds=args.interval), batch=args.batch)
    phase.empty_pass_ms_median = round(await empty_pass_ms(sessions, sweep, first_due - timedelta(seconds=1)), 2)
    phase.claim_plan, phase.claim_buffers, phase.claim_ms = await claim_plan(engine, first_due + (count // 2) * step)
    commits: dict[datetime, float] = {}
    current: list[datetime] = []

    async def work(session: AsyncSession, now: datetime) -> int:
        current.append(now)
        return await sweep.work(session, now)

    def committed() -> None:
        commits[current[-1]] = time.time()

    sweeper = Sweeper(sessions=sessions, clock=clock, after_commit=committed)
    timed = Sweep(name=sweep.name, every=sweep.every, work=work, batch=sweep.batch)
    walls, cpus, handled = [], [], []
    end = first_due + count * step + timedelta(seconds=2 * args.interval)
    next_tick = time.monotonic()
    while clock.now() < end:
        started, cpu = time.perf_counter(), time.process_time()
        n = await sweeper.run(timed)
        if n:
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            handled.append(n)
        next_tick += args.interval
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    async with sessions() as session:
        rows = (await session.execute(select(Task.due_at, Task.breached_at).where(Task.id.like(prefix + "%")))).all()
        assert (
            await session.scalar(select(func.count()).where(Task.id.like(prefix + "%"), Task.breached_at.is_(None)))
            == 0
        )
    lags = [commits[b] - due.timestamp() for due, b in rows if b is not None and b in commits]
    phase.breached = len(lags)
    phase.lag_p50_s, phase.lag_p99_s, phase.lag_max_s = (round(pct(lags, q), 3) for q in (50, 99, 100))
    phase.passes = len(walls)
    phase.pass_ms_mean = round(statistics.mean(walls), 2) if walls else 0.0
    phase.pass_ms_p99 = round(pct(walls, 99), 2)
    phase.pass_cpu_ms_mean = round(statistics.mean(cpus), 2) if cpus else 0.0
    phase.tasks_per_pass_mean = round(statistics.mean(handled), 1) if handled else 0.0
    return phase


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every size in one run, on one server."""
    with start_postgres() as pg:
        url = pg.create_database("bench_rhi")
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url, pool_size=5)
        try:
            phases, have = [], 0
            for size in args.open:
                have, took = await grow(engine, to=size, have=have, now=datetime.now(UTC))
                print(
                    f"{size:>9,} open tasks not due (inserted in {took:.0f} s); measuring {args.duration} s ...",
                    flush=True,
                )
                phase = await measure(engine, args, size, took)
                phases.append(phase)
                print(json.dumps(asdict(phase)), flush=True)
        finally:
            await engine.dispose()
    return {
        "benchmark": "rhi-sweep",
        "at": datetime.now(UTC).isoformat(),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "settings": {k: v for k, v in vars(args).items()},
        "phases": [asdict(p) for p in phases],
        "targets": {"lag_p99_s": TARGET_P99_S, "cost_independent_of_open_tasks": True},
        "met": {
            "lag_p99": all(p.lag_p99_s <= TARGET_P99_S for p in phases),
            "all_breached_once": all(p.breached == p.fell_due for p in phases),
        },
    }


def main() -> int:
    """Parse arguments, run, write the results file, print a summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--open", type=int, nargs="+", default=[10_000, 1_000_000], help="open tasks, increasing")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of tasks falling due per size")
    p.add_argument("--rate", type=float, default=1000.0, help="tasks falling due per minute")
    p.add_argument("--interval", type=float, default=1.0, help="sweep interval in seconds (MCN_RHI_SWEEP_INTERVAL)")
    p.add_argument("--batch", type=int, default=500, help="rows claimed per pass (MCN_RHI_SWEEP_BATCH)")
    args = p.parse_args()
    configure_logging("WARNING", service="bench")  # one log line per breach would swamp the figures
    result = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / f"rhi-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    for ph in result["phases"]:
        print(
            f"{ph['open_tasks']:>9,} open: lag p50 {ph['lag_p50_s']:.3f} s p99 {ph['lag_p99_s']:.3f} s "
            f"max {ph['lag_max_s']:.3f} s; pass {ph['pass_ms_mean']:.1f} ms mean ({ph['tasks_per_pass_mean']} tasks), "
            f"p99 {ph['pass_ms_p99']:.1f} ms, cpu {ph['pass_cpu_ms_mean']:.1f} ms; "
            f"empty pass {ph['empty_pass_ms_median']:.2f} ms; "
            f"claim {ph['claim_buffers']} buffers {ph['claim_ms']:.3f} ms [{ph['claim_plan']}]"
        )
    return 0 if all(result["met"].values()) else 2


if __name__ == "__main__":
    raise SystemExit(main())
