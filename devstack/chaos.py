"""The chaos run (issue 7): drive episodes while parts are SIGKILLed and restarted, then check the invariants.

    .venv/bin/python -m devstack.chaos [--episodes 20000] [--faults 24] [--seed 7] [--postgres]

Starts the whole stack (devstack/stack.py) on a shared FileClock held just after the feed's last
event, drives reports and returns through the gateway while the fault driver kills a random
service or the broker at random moments (devstack/chaos_faults.py), waits until the system is
quiet, moves the clock past every deadline, waits again and checks (devstack/chaos_check.py).
The clock does not move while faults are injected: the relay's republish window is measured on it.
Prints the faults and the invariants; exits 1 if any invariant failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack.chaos_check import Invariant, check_all, read_jsonl
from devstack.chaos_drive import Driven, drive
from devstack.chaos_faults import Fault, plan_faults, run_faults
from devstack.chaos_report import print_report, save_report
from devstack.chaos_stack import quiet, start_stack
from devstack.postgres import start_postgres
from devstack.stack import ROOT, Stack
from devstack.synthetic import SyntheticEpisode, generate
from shared.clock import FileClock
from shared.db import make_engine, make_session_factory

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
# Reports and returns fall within DAYS of START (the generator drops later returns); the drive runs just
# after, so with DAYS under the 72 hours no deadline passes until the clock is moved past them all.
DAYS = 2.5
DEADLINE = timedelta(hours=72)  # MCN_RHI_DEADLINE as shipped
AUTHORITIES = ("E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000047")


@dataclass
class ChaosOptions:
    """How big a run, how many faults, and where its files go."""

    data_dir: Path
    episodes: int = 300
    faults: int = 4
    seed: int = 7
    concurrency: int = 16
    rate: float | None = None
    database_url: str | None = None
    settle_s: float = 15.0
    quiet_timeout_s: float = 900.0
    log_level: str = "WARNING"
    progress_every: float | None = None


@dataclass
class ChaosResult:
    """What the run did and what held."""

    driven: Driven
    faults: list[Fault]
    invariants: list[Invariant]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every invariant held."""
        return all(inv.held for inv in self.invariants)


def feed(options: ChaosOptions) -> list[SyntheticEpisode]:
    """The run's episodes, in the order they are driven."""
    return list(generate(options.seed, options.episodes, START, DAYS, AUTHORITIES))


def last_moment(episodes: list[SyntheticEpisode]) -> datetime:
    """The latest report or return time of the feed."""
    return max([e.reported_at for e in episodes] + [e.returned_at for e in episodes if e.returned_at is not None])


async def drive_with_faults(stack: Stack, options: ChaosOptions, episodes: list[SyntheticEpisode]) -> ChaosResult:
    """Drive the feed through the gateway while the planned faults are injected."""
    keys = {force: stack.create_key("police", force, "chaos") for force in sorted({e.force for e in episodes})}
    driven, started = Driven(), time.monotonic()
    planned = plan_faults(options.faults, options.seed)
    faults_task = asyncio.create_task(run_faults(stack, planned, len(episodes), lambda: driven.done, started))
    progress = asyncio.create_task(report_progress(driven, len(episodes), started, options.progress_every))
    await drive(stack.url(), keys, episodes, options.concurrency, driven, options.rate)
    drove = time.monotonic() - started
    progress.cancel()
    faults = await faults_task
    return ChaosResult(driven, faults, [], {"drive_s": drove, "faults_over_s": time.monotonic() - started})


async def report_progress(driven: Driven, total: int, started: float, every: float | None) -> None:
    """Print how far the drive is every `every` seconds (never when None)."""
    while every:
        await asyncio.sleep(every)
        print(f"{time.monotonic() - started:7.0f} s: {driven.done}/{total} episodes", flush=True)


async def run_async(
    stack: Stack, options: ChaosOptions, episodes: list[SyntheticEpisode], clock_file: Path
) -> ChaosResult:
    """Drive with faults, let the system settle, move past every deadline, settle again, check."""
    result = await drive_with_faults(stack, options, episodes)
    engine = make_engine(stack.database_url, read_only=True)
    try:
        sessions = make_session_factory(engine)
        settled = Invariant("the system went quiet (before and after the deadlines)", checked=2)
        began = time.monotonic()
        if not await quiet(sessions, stack, options.settle_s, options.quiet_timeout_s):
            settled.fail(f"still busy {options.quiet_timeout_s:.0f} s after the drive")
        result.timings["settle_s"] = time.monotonic() - began
        returned = [e.returned_at for e in episodes if e.returned_at is not None]
        if returned:
            FileClock.set(clock_file, max(returned) + DEADLINE + timedelta(minutes=1))
        began = time.monotonic()
        if not await quiet(sessions, stack, options.settle_s, options.quiet_timeout_s):
            settled.fail(f"still busy {options.quiet_timeout_s:.0f} s after the clock passed the deadlines")
        result.timings["due_settle_s"] = time.monotonic() - began
        webhooks, mails = read_jsonl(stack.receiver_log), read_jsonl(stack.mail_log)
        async with sessions() as session:
            now = FileClock(clock_file).now()
            result.invariants = [settled, *await check_all(session, result.driven, now, webhooks, mails)]
    finally:
        await engine.dispose()
    return result


def run(options: ChaosOptions) -> ChaosResult:
    """One chaos run on its own stack, stopped afterwards."""
    clock_file = options.data_dir / "clock.json"
    options.data_dir.mkdir(parents=True, exist_ok=True)
    episodes = feed(options)
    FileClock.set(clock_file, last_moment(episodes) + timedelta(minutes=1))
    stack = start_stack(options.data_dir, options.database_url, clock_file, options.log_level, AUTHORITIES)
    try:
        return asyncio.run(run_async(stack, options, episodes, clock_file))
    finally:
        stack.stop_all()


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the tables; 1 if an invariant failed."""
    p = argparse.ArgumentParser(prog="python -m devstack.chaos", description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=20_000)
    p.add_argument("--faults", type=int, default=24, help="SIGKILLs; a fifth of them (at least one) the broker's")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--concurrency", type=int, default=16, help="episodes in flight")
    p.add_argument("--rate", type=float, default=None, help="episodes started a second (default: as fast as answered)")
    p.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL instead of the SQLite file")
    p.add_argument("--data-dir", type=Path, default=None, help="default .devstack/chaos-<time>")
    p.add_argument("--log-level", default="WARNING", help="of the services (their logs are in <data-dir>/logs)")
    args = p.parse_args(argv)
    data_dir = args.data_dir or ROOT / ".devstack" / f"chaos-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    with contextlib.ExitStack() as cleanup:
        url = cleanup.enter_context(start_postgres()).create_database("chaos") if args.postgres else None
        options = ChaosOptions(
            data_dir=data_dir,
            episodes=args.episodes,
            faults=args.faults,
            seed=args.seed,
            concurrency=args.concurrency,
            rate=args.rate,
            database_url=url,
            log_level=args.log_level,
            progress_every=60.0,
        )
        result = run(options)
    print_report(result.driven, result.faults, result.invariants, result.timings)
    settings = vars(args) | {"data_dir": str(data_dir)}
    saved = save_report(data_dir, settings, result.driven, result.faults, result.invariants, result.timings)
    print(f"results in {saved}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
