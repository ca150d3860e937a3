"""A national year: synthetic episodes and returns through the whole system, time compressed by a shared clock.

    .venv/bin/python -m bench.national_year [--episodes 210000] [--seed 2026] [--rate R] [--concurrency 32]

Generates the year (devstack/synthetic.py), starts tansu, a throwaway PostgreSQL, the webhook receiver
and the four services as separate processes (FileClock shared through MCN_CLOCK_FILE), measures the
ceilings in the same run (bench/year_ceilings.py), then replays every report and return in simulation
order straight to the intake (bench/year_replay.py) and waits until each episode's first webhook and
each return's rhi.opened webhook have arrived (or nothing arrives for --drain-idle seconds).

Printed: wall time (first POST to the last of those webhooks), episodes/s, POST->webhook p50/p99,
and the ratios to the ceilings. Without --rate requests go as fast as answers come; with --rate
the year is paced at that many episodes/s (latency from each request's due time). Interviews are
never completed, so tasks breach at 72 hours; breach notices are not routed (bench/year_policy.py).
Results go to bench/results/national-year-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import uvloop

from bench import loadgen
from bench.servers import machine_cpu, proc_cpu_seconds
from bench.year_ceilings import bare_endpoint, raw_kafka
from bench.year_hooks import Hooks
from bench.year_policy import write_policy
from bench.year_replay import Outcome, Replay
from devstack.postgres import start_postgres
from devstack.stack import ROOT, SERVICES, Stack, config_on_free_ports
from devstack.synthetic import SyntheticEpisode, generate
from devstack.synthetic_data import AUTHORITIES
from shared.auth import Role, create_key
from shared.clock import FileClock
from shared.db import make_engine, make_session_factory

TARGETS = {"year_wall_s": 600, "episodes_per_s": 700, "p99_s_at_200_per_s": 1.0}
PARTS = ("receiver", *SERVICES)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.national_year", description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=210_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--start", type=datetime.fromisoformat, default=datetime(2025, 4, 1, tzinfo=UTC))
    p.add_argument("--days", type=float, default=365.0, help="length of the simulated window")
    p.add_argument("--rate", type=float, default=None, help="episodes/s to pace at (default: as fast as possible)")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    p.add_argument("--drain-idle", type=float, default=120.0, help="give up waiting after this long without a webhook")
    p.add_argument("--ceiling-seconds", type=float, default=8.0, help="length of the bare-endpoint measurement")
    p.add_argument("--kafka-records", type=int, default=50_000, help="records in the raw Kafka measurement")
    p.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    return p.parse_args(argv)


def make_stack(work: Path, database_url: str) -> Stack:
    """The stack's configuration: the run's policy, its clock file and a wide signature tolerance."""
    env = {
        "MCN_LOG_LEVEL": "WARNING",
        "MCN_CLOCK_FILE": str(work / "clock.json"),
        "MCN_KAFKA_REQUEST_TIMEOUT_MS": "10000",
        # Simulated months pass in wall minutes: a webhook signed "a week ago" may be seconds old.
        "MCN_RECEIVER_TOLERANCE_S": str(10 * 365 * 86400),
    }
    return Stack(config_on_free_ports(work, database_url, env, partial(write_policy, AUTHORITIES)))


async def create_keys(database_url: str, forces: set[str]) -> dict[str, str]:
    """One police key per force, made with the project's own function."""
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            now = datetime.now(UTC)
            return {
                f: (await create_key(session, role=Role.POLICE, tenant=f, label="national year", now=now))[1]
                for f in sorted(forces)
            }
    finally:
        await engine.dispose()


async def replay_and_drain(replay: Replay, hooks: Hooks, drain_idle: float) -> Outcome:
    """Replay, following the receiver's log meanwhile, then wait for the webhooks still to come."""

    async def follow() -> None:
        while True:
            hooks.poll()
            await asyncio.sleep(1.0)

    follower = asyncio.create_task(follow())
    try:
        outcome = await replay.run()
    finally:
        follower.cancel()
        with suppress(asyncio.CancelledError):
            await follower
    print(f"replay sent in {outcome.finished - outcome.started:.1f} s; draining ...", flush=True)
    progress, shown = time.time(), 0.0
    while True:
        if hooks.poll():
            progress = time.time()
        if outcome.report_sent.keys() <= hooks.first.keys() and outcome.return_sent.keys() <= hooks.opened.keys():
            return outcome
        if time.time() - progress > drain_idle:
            return outcome
        if time.time() - shown > 15:
            shown = time.time()
            print(f"  {len(hooks.first)}/{len(outcome.report_sent)} episodes and {len(hooks.opened)}/"
                  f"{len(outcome.return_sent)} returns through", flush=True)  # fmt: skip
        await asyncio.sleep(0.5)


def quantiles(values: list[float], *qs: int) -> dict[str, float | None]:
    """Nearest-rank percentiles by name (p50, p99; 100 is max), rounded; None for no values."""
    ordered = sorted(values)
    return {"max" if q == 100 else f"p{q}": round(loadgen.percentile(ordered, q), 3) if ordered else None for q in qs}


def summarise(outcome: Outcome, hooks: Hooks, episodes: int) -> dict[str, Any]:
    """Wall time, throughput and latency from what was sent and what arrived."""
    report_lat = [hooks.first[e] - t for e, t in outcome.report_sent.items() if e in hooks.first]
    return_lat = [hooks.opened[e] - t for e, t in outcome.return_sent.items() if e in hooks.opened]
    arrivals = [hooks.first[e] for e in outcome.report_sent if e in hooks.first]
    arrivals += [hooks.opened[e] for e in outcome.return_sent if e in hooks.opened]
    done = max(arrivals, default=outcome.finished)
    wall = done - outcome.started
    requests = sum(outcome.statuses.values())
    return {
        "episodes": episodes,
        "reports_accepted": len(outcome.report_sent),
        "returns_accepted": len(outcome.return_sent),
        "statuses": outcome.statuses,
        "error_samples": outcome.samples,
        "wall_s": round(wall, 1),
        "posting_s": round(outcome.finished - outcome.started, 1),
        "episodes_per_s": round(episodes / wall, 1),
        "requests_per_s_posting": round(requests / (outcome.finished - outcome.started), 1),
        "report_to_first_webhook_s": quantiles(report_lat, 50, 99, 100),
        "return_to_rhi_opened_s": quantiles(return_lat, 50, 99, 100),
        "http_answer_ms": quantiles(outcome.answer_ms, 50, 99),
        "episodes_without_webhook": len(outcome.report_sent.keys() - hooks.first.keys()),
        "returns_without_rhi_opened": len(outcome.return_sent.keys() - hooks.opened.keys()),
        "webhooks": dict(hooks.types),
        "webhooks_rejected": hooks.rejected,
        "webhooks_duplicate": hooks.duplicates,
        "simulated_until": outcome.sim_reached.isoformat() if outcome.sim_reached else None,
    }


def run(opts: argparse.Namespace, database_url: str, work: Path) -> dict[str, Any]:
    """Everything in one run on one database; returns the results document."""
    started = time.time()
    made: list[SyntheticEpisode] = list(generate(opts.seed, opts.episodes, opts.start, opts.days))
    print(f"generated {len(made):,} episodes in {time.time() - started:.1f} s", flush=True)
    stack = make_stack(work, database_url)
    clock_file = Path(stack.config.extra_env["MCN_CLOCK_FILE"])
    FileClock.set(clock_file, opts.start - timedelta(hours=1))
    try:
        stack.broker.start()
        sample = [e.report for e in made[:1000]]
        size = len(json.dumps(sample[0]))
        kafka = uvloop.run(raw_kafka(stack.broker.bootstrap, opts.kafka_records, size))
        bare = bare_endpoint(sample, work / "logs", opts.ceiling_seconds)
        print(f"ceilings: bare endpoint {bare:,.0f} req/s; raw aiokafka {kafka:,.0f} records/s", flush=True)
        stack.migrate()
        keys = uvloop.run(create_keys(database_url, {e.force for e in made}))
        for name in PARTS:
            stack.start(name)
        for name in PARTS:
            stack.wait_healthy(name, timeout=60)
        cpu0 = {n: proc_cpu_seconds(stack.procs[n].pid) for n in PARTS} | {"broker": _broker_cpu(stack)}
        busy0, steal0 = machine_cpu()
        replay = Replay(stack.port("intake"), keys, clock_file, made, start=opts.start, days=opts.days,
                        rate=opts.rate, concurrency=opts.concurrency)  # fmt: skip
        hooks = Hooks(stack.receiver_log)
        outcome = uvloop.run(replay_and_drain(replay, hooks, opts.drain_idle))
        busy1, steal1 = machine_cpu()
        cpu = {n: round(proc_cpu_seconds(stack.procs[n].pid) - cpu0[n], 1) for n in PARTS}
        cpu["broker"] = round(_broker_cpu(stack) - cpu0["broker"], 1)
    finally:
        stack.stop_all()
    result = summarise(outcome, hooks, len(made))
    result["ceilings"] = {"bare_endpoint_req_per_s": round(bare, 1), "raw_kafka_records_per_s": round(kafka, 1)}
    result["ratios"] = {
        "episodes_per_s_to_bare_req_per_s": round(result["episodes_per_s"] / bare, 4),
        "episodes_per_s_to_raw_kafka_per_s": round(result["episodes_per_s"] / kafka, 4),
        "posting_req_per_s_to_bare_req_per_s": round(result["requests_per_s_posting"] / bare, 4),
    }
    result["cpu_s"] = cpu | {"machine_busy": round(busy1 - busy0, 1), "machine_steal": round(steal1 - steal0, 1)}
    return result


def _broker_cpu(stack: Stack) -> float:
    proc = stack.broker.proc
    return proc_cpu_seconds(proc.pid) if proc is not None else 0.0


def report(result: dict[str, Any]) -> None:
    """Print the figures."""
    r, c = result, result["ceilings"]
    print(f"episodes {r['episodes']:,} (accepted {r['reports_accepted']:,}, returns {r['returns_accepted']:,}); "
          f"HTTP statuses {r['statuses']} {r['error_samples'][:2]}")  # fmt: skip
    print(f"wall time {r['wall_s']} s (posting {r['posting_s']} s); {r['episodes_per_s']} episodes/s through every hop")
    print(f"report -> first webhook: {r['report_to_first_webhook_s']} s")
    print(f"return -> rhi.opened webhook: {r['return_to_rhi_opened_s']} s; HTTP answer {r['http_answer_ms']} ms")
    print(f"missing: {r['episodes_without_webhook']} episodes without a webhook, "
          f"{r['returns_without_rhi_opened']} returns without rhi.opened; webhooks {r['webhooks']}")  # fmt: skip
    print(f"ceilings: bare {c['bare_endpoint_req_per_s']} req/s, raw kafka {c['raw_kafka_records_per_s']} rec/s; "
          f"ratios {r['ratios']}")  # fmt: skip
    print(f"cpu seconds: {r['cpu_s']}; simulated until {r['simulated_until']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Start PostgreSQL, run, print and save."""
    opts = parse(argv)
    work = Path(tempfile.mkdtemp(prefix="mcn-year-"))
    print(f"national year: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; work dir {work}", flush=True)
    with start_postgres() as pg:
        result = run(opts, pg.create_database("year"), work)
    result |= {
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "options": {k: str(v) for k, v in vars(opts).items()},
        "targets": TARGETS,
    }
    report(result)
    opts.output.mkdir(parents=True, exist_ok=True)
    out = opts.output / f"national-year-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results in {out}")
    complete = (
        result["reports_accepted"] == result["episodes"]
        and set(result["statuses"]) == {"202"}
        and result["episodes_without_webhook"] == 0
        and result["returns_without_rhi_opened"] == 0
    )
    if complete:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"INCOMPLETE: logs kept in {work}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
