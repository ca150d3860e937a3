"""Notifier benchmark: sustained deliveries/s to a local receiver, and latency at a fixed rate.

Starts a fresh tansu broker, a migrated SQLite database, the devstack webhook receiver (verifying every
signature) and the notifier as its own process, exactly as `make run` does. Then:

1. throughput: N rhi.opened events are produced as fast as the broker takes them; each becomes one
   signed webhook. Deliveries/s = N over the time from the first to the last webhook arriving.
2. latency: events are produced at a fixed rate (default 100/s, one episode each) for a while; latency
   is from the broker acknowledging the event (committed to the log) to the receiver getting the webhook.

Not a test: `python -m bench.notifier` (about a minute). Results go to bench/results/notifier-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.servers import proc_cpu_seconds
from devstack.postgres import start_postgres
from devstack.stack import ROOT, Stack, config_on_free_ports
from shared.events.codec import encode, to_event
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.rhi import RhiTaskOpened
from shared.events.registry import Topic

CHILD = ChildRecord(given_name="Bench", family_name="Child", date_of_birth=date(2012, 1, 1), responsible_la="E06000002")


@dataclass
class Phase:
    """One measured phase."""

    name: str
    events: int
    delivered: int
    seconds: float
    deliveries_per_s: float
    latency_ms: dict[str, float]
    notifier_cpu_s: float


def event_bytes(run: str, i: int) -> tuple[bytes, bytes]:
    """One rhi.opened for Middlesbrough: exactly one webhook (middlesbrough-rhi) in the example policy."""
    now = datetime.now(UTC)
    payload = RhiTaskOpened(
        task_id=f"{run}-{i}",
        episode_id=f"ep-{run}-{i}",
        force="cleveland",
        police_reference=f"BENCH-{i}",
        responsible_la="E06000002",
        child=CHILD,
        returned_at=now,
        due_at=now + timedelta(hours=72),
        at=now,
    )
    key = payload.episode_id.encode()
    return encode(to_event(payload, source="rhi_tracker", time=now, subject=payload.episode_id)), key


def arrivals(log: Path, run: str) -> dict[str, float]:
    """task id -> wall time the receiver accepted its webhook, for this run's events."""
    found: dict[str, float] = {}
    if not log.exists():
        return found
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        task = ((entry.get("body") or {}).get("data") or {}).get("task_id", "")
        if entry["status"] < 300 and task.startswith(run + "-"):
            found.setdefault(task, datetime.fromisoformat(entry["received_at"]).timestamp())
    return found


async def wait_arrivals(log: Path, run: str, expected: int, timeout: float) -> dict[str, float]:
    """Poll the receiver's log until every event of the run arrived, or time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        found = arrivals(log, run)
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.25)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of latencies in ms."""
    if not values:
        return {}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50": q[49], "p90": q[89], "p99": q[98], "max": ordered[-1], "mean": statistics.fmean(ordered)}


async def throughput(stack: Stack, producer: AIOKafkaProducer, n: int, pid: int) -> Phase:
    """N events as fast as the broker takes them; deliveries/s from the first to the last webhook."""
    run = f"t{int(time.time())}"
    cpu = proc_cpu_seconds(pid)
    futures = [
        await producer.send(Topic.RHI, value, key=key) for value, key in map(lambda i: event_bytes(run, i), range(n))
    ]
    await asyncio.gather(*futures)
    found = await wait_arrivals(stack.receiver_log, run, n, timeout=max(60.0, n / 20))
    times = sorted(found.values())
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return Phase("throughput", n, len(found), span, (len(times) - 1) / span, {}, proc_cpu_seconds(pid) - cpu)


async def fixed_rate(stack: Stack, producer: AIOKafkaProducer, rate: float, seconds: float, pid: int) -> Phase:
    """Events at `rate`/s for `seconds`; latency from the broker's acknowledgement to the webhook arriving."""
    run = f"r{int(time.time())}"
    acked: dict[str, float] = {}
    total = int(rate * seconds)
    cpu = proc_cpu_seconds(pid)
    start = time.monotonic()
    pending = []
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        value, key = event_bytes(run, i)
        future = await producer.send(Topic.RHI, value, key=key)
        future.add_done_callback(lambda _f, task=f"{run}-{i}": acked.__setitem__(task, time.time()))
        pending.append(future)
    await asyncio.gather(*pending)
    found = await wait_arrivals(stack.receiver_log, run, total, timeout=60)
    latencies = [(found[t] - acked[t]) * 1000 for t in found if t in acked]
    elapsed = time.monotonic() - start
    return Phase("fixed_rate", total, len(found), elapsed, len(found) / elapsed, percentiles(latencies),
                 proc_cpu_seconds(pid) - cpu)  # fmt: skip


async def measure(stack: Stack, opts: argparse.Namespace) -> list[Phase]:
    """Warm up (the consumer joins its group), then both phases."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, linger_ms=2)
    await producer.start()
    try:
        pid = stack.procs["notifier"].pid
        warm = f"w{int(time.time())}"
        value, key = event_bytes(warm, 0)
        await producer.send_and_wait(Topic.RHI, value, key=key)
        if len(await wait_arrivals(stack.receiver_log, warm, 1, timeout=60)) != 1:
            raise RuntimeError("the warm-up webhook never arrived; see the logs")
        phases = [await throughput(stack, producer, opts.events, pid)]
        await asyncio.sleep(2)
        phases.append(await fixed_rate(stack, producer, opts.rate, opts.seconds, pid))
        return phases
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> int:
    """Start the parts, measure, print and save."""
    p = argparse.ArgumentParser(prog="python -m bench.notifier", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=2000, help="events in the throughput phase")
    p.add_argument("--rate", type=float, default=100.0, help="events (episodes) per second in the latency phase")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the latency phase")
    p.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL instead of the SQLite file")
    p.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    opts = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as tmp, contextlib.ExitStack() as cleanup:
        database_url = cleanup.enter_context(start_postgres()).create_database("bench") if opts.postgres else None
        stack = Stack(config_on_free_ports(Path(tmp), database_url, {"MCN_LOG_LEVEL": "WARNING"}))
        try:
            stack.broker.start()
            stack.migrate()
            for name in ("receiver", "notifier"):
                stack.start(name)
                stack.wait_healthy(name)
            phases = asyncio.run(measure(stack, opts))
        finally:
            stack.stop_all()
    for phase in phases:
        print(json.dumps(asdict(phase)))
    opts.output.mkdir(parents=True, exist_ok=True)
    out = opts.output / f"notifier-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {"options": vars(opts) | {"output": str(opts.output)}, "phases": [asdict(x) for x in phases]}, indent=2
        )
    )
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
