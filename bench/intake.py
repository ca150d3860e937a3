"""Benchmark: durable acceptance of episode reports by the intake API, against a bare FastAPI baseline.

    .venv/bin/python -m bench.intake [--duration 10] [--warmup 2] [--concurrency 64] [--rate 300]

Cases, each served by one uvicorn worker in its own process and driven by the same generator
(bench/loadgen.py) in this process:

1. baseline: bench/bare.py, validating the same EpisodeReport body, no auth, no database;
2. intake on SQLite: `python -m services.intake` on a fresh migrated file, relay publishing to tansu;
3. intake on PostgreSQL: the same on a throwaway server (devstack.postgres).

Each case runs closed loop (N connections, as fast as answers come) and open loop (a fixed rate;
latency from the time each request was due). Every request is a distinct valid report. The
baseline's closed loop is measured again at the end and ratios use the mean of both, since the
machine is shared. After each intake case the rows stored are counted and must equal the 202s.
Not a test: nothing here is collected by pytest. Exit status 1 if the run is invalid (errors,
or stored rows differing from the 202s); with --strict, 2 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from bench import loadgen
from bench.loadgen import Connection, MakeRequest, Stats
from bench.servers import (
    ROOT,
    IntakeDb,
    Server,
    count_rows,
    log_problems,
    machine_cpu,
    prepare_database,
    start_bare,
    start_intake,
)
from devstack.broker import Broker
from devstack.postgres import start_postgres
from services.intake.schemas import REPORT_EXAMPLE, EpisodeReport

TENANT = "benchforce"
PATH = "/v1/episodes"
LOCAL = "127.0.0.1"
PLACEHOLDER = "@@SEQ@@"
SEQ_DIGITS = 9
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.5
DRAIN_TIMEOUT = 60.0
T = TypeVar("T")


# ---------------------------------------------------------------- requests


def report_body(run_id: str, now: datetime) -> bytes:
    """A valid report whose police_reference ends in PLACEHOLDER (replaced by a fixed-width sequence)."""
    born = date(now.year - 12, 1, 15)  # always a child
    body = {
        **REPORT_EXAMPLE,
        "police_reference": f"BENCH-{run_id}-{PLACEHOLDER}",
        "reported_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_seen_at": (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "child": {**REPORT_EXAMPLE["child"], "date_of_birth": born.isoformat()},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    EpisodeReport.model_validate_json(raw.replace(PLACEHOLDER.encode(), b"0" * SEQ_DIGITS))  # fail early
    return raw


def request_factory(port: int, body: bytes, api_key: str | None) -> MakeRequest:
    """Pre-built HTTP/1.1 requests; each call returns the next one with a fresh reference."""
    prefix, suffix = body.split(PLACEHOLDER.encode())
    length = len(body) - len(PLACEHOLDER) + SEQ_DIGITS
    auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{auth}\r\n"
    ).encode()
    start, counter = head + prefix, itertools.count(1)

    def make() -> bytes:
        return b"".join((start, b"%09d" % next(counter), suffix))

    return make


# ---------------------------------------------------------------- measuring


@dataclass
class Phase:
    """One measured load phase of one case."""

    case: str
    mode: str
    requests: int
    ok: int
    errors: int
    elapsed_s: float
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_pct: float
    server_cpu_ms_per_req: float
    gen_cpu_pct: float
    machine_cpu_pct: float  # all cores: 200 % is a saturated 2-core machine
    steal_pct: float  # CPU the hypervisor gave to other guests meanwhile
    statuses: dict[str, int]
    reconnects: int
    max_send_lag_ms: float
    samples: list[str]
    ratio: float | None = None
    profile: str | None = None
    accepted: int = field(default=0, repr=False)  # 202s, for the stored-rows check


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh uvloop loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def measure(
    case: str, mode: str, server: Server, load: Coroutine[Any, Any, Stats], profile: Path | None = None
) -> Phase:
    """Run one load phase and take the CPU used by the server, this generator and the whole machine."""
    spy = _start_profiler(server, profile)
    busy0, steal0 = machine_cpu()
    srv0, gen0 = server.cpu_seconds(), time.process_time()
    stats = run_async(load)
    srv1, gen1 = server.cpu_seconds(), time.process_time()
    busy1, steal1 = machine_cpu()
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    wall = max(stats.elapsed, 1e-9)
    lat = sorted(stats.latencies)
    answered = sum(stats.statuses.values())
    return Phase(
        case=case,
        mode=mode,
        requests=answered + stats.transport_errors,
        ok=stats.ok,
        errors=stats.errors,
        elapsed_s=round(stats.elapsed, 3),
        throughput=stats.ok / wall,
        p50_ms=loadgen.percentile(lat, 50) * 1000,
        p90_ms=loadgen.percentile(lat, 90) * 1000,
        p99_ms=loadgen.percentile(lat, 99) * 1000,
        max_ms=(lat[-1] if lat else 0.0) * 1000,
        server_cpu_pct=100 * (srv1 - srv0) / wall,
        server_cpu_ms_per_req=1000 * (srv1 - srv0) / max(stats.ok, 1),
        gen_cpu_pct=100 * (gen1 - gen0) / wall,
        machine_cpu_pct=100 * (busy1 - busy0) / wall,
        steal_pct=100 * (steal1 - steal0) / wall,
        statuses={str(k): v for k, v in sorted(stats.statuses.items())},
        reconnects=stats.reconnects,
        max_send_lag_ms=stats.max_send_lag * 1000,
        samples=stats.samples,
        profile=str(profile) if profile is not None else None,
        accepted=stats.statuses[202],
    )


def _start_profiler(server: Server, output: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy the server while a phase runs (collapsed stacks, for flamegraph.pl or speedscope)."""
    if output is None:
        return None
    spy = str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        spy = shutil.which("py-spy") or ""
    if not spy:
        raise SystemExit("--profile needs py-spy (.venv/bin/py-spy or on PATH)")
    cmd = [spy, "record", "--pid", str(server.pid), "--rate", "100", "--nonblocking", "--gil", "--format", "raw"]
    cmd += ["--output", str(output)]
    # py-spy stops when told to (SIGINT) after the phase; --duration would race the phase's own timing
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def smoke(port: int, make: MakeRequest) -> tuple[int, str]:
    """One request, to fail fast with the server's own words if the body or key is wrong."""
    conn = await Connection.open(LOCAL, port)
    try:
        status, body = await conn.request(make())
    finally:
        conn.abort()
    return status, body.decode(errors="replace")


@dataclass
class Options:
    """Command-line options."""

    duration: float
    warmup: float
    concurrency: int
    rate: float
    databases: list[str]
    profile: bool
    strict: bool
    output: Path


def run_case(
    case: str,
    server: Server,
    make: MakeRequest,
    opts: Options,
    *,
    drain: Callable[[], None] = lambda: None,
    profile: Path | None = None,
) -> list[Phase]:
    """Smoke, warm up, then closed loop and open loop against one server; `drain` runs after each phase."""
    status, detail = run_async(smoke(server.port, make))
    if status not in (200, 202):
        raise RuntimeError(f"{case}: a first report was answered {status}: {detail}\n{server.log_tail()}")
    print(f"  {case}: warm-up {opts.warmup:g}s", flush=True)
    warm = run_async(loadgen.closed_loop(LOCAL, server.port, make, concurrency=opts.concurrency, duration=opts.warmup))
    if warm.errors:
        print(f"  {case}: warm-up had {warm.errors} errors: {warm.samples}", flush=True)
    closed, opened = f"closed c={opts.concurrency}", f"open {opts.rate:g}/s"
    print(f"  {case}: {closed} {opts.duration:g}s", flush=True)
    load = loadgen.closed_loop(LOCAL, server.port, make, concurrency=opts.concurrency, duration=opts.duration)
    phases = [measure(case, closed, server, load, profile)]
    drain()
    print(f"  {case}: {opened} {opts.duration:g}s", flush=True)
    load = loadgen.open_loop(
        LOCAL, server.port, make, rate=opts.rate, duration=opts.duration, connections=opts.concurrency
    )
    phases.append(measure(case, opened, server, load))
    drain()
    phases[0].accepted += warm.statuses[202] + (1 if status == 202 else 0)  # every 202 must be a stored row
    return phases


def drainer(case: str, url: str) -> Callable[[], None]:
    """Wait until the relay has published everything, so a phase does not pay for the previous one's backlog."""

    def drain() -> None:
        start = time.monotonic()
        pending = first = run_async(count_rows(url))["outbox_pending"]
        while pending and time.monotonic() - start < DRAIN_TIMEOUT:
            time.sleep(0.2)
            pending = run_async(count_rows(url))["outbox_pending"]
        took = time.monotonic() - start
        print(f"  {case}: relay backlog {first} rows; {pending} left after {took:.1f}s", flush=True)

    return drain


@dataclass
class Stored:
    """What an intake case stored, against what it acknowledged."""

    case: str
    accepted_202: int
    episodes: int
    versions: int
    outbox: int
    outbox_pending: int

    @property
    def valid(self) -> bool:
        """Every 202 is one episode, one version and one outbox row; nothing more."""
        return self.accepted_202 == self.episodes == self.versions == self.outbox


def run_intake(db: IntakeDb, opts: Options, body: bytes, work: Path, stamp: str) -> tuple[list[Phase], Stored]:
    """One intake case: start the process, load it, stop it gracefully, count what it stored."""
    case = f"intake-{db.label}"
    profile = opts.output / f"profile-{case}-{stamp}.txt" if opts.profile else None
    server = start_intake(db, work)
    try:
        make = request_factory(server.port, body, db.api_key)
        phases = run_case(case, server, make, opts, drain=drainer(case, db.url), profile=profile)
    finally:
        server.stop()
    counts = run_async(count_rows(db.url))
    return phases, Stored(case=case, accepted_202=sum(p.accepted for p in phases), **counts)


# ---------------------------------------------------------------- report


def print_table(phases: list[Phase]) -> None:
    """The compact result table."""
    head = (
        "case",
        "mode",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "srv cpu",
        "ms/req",
        "gen cpu",
        "machine",
    )
    rows = [head]
    for p in phases:
        ratio = f"{p.ratio:.2f}" if p.ratio is not None else "-"
        rows.append(
            (
                p.case,
                p.mode,
                str(p.requests),
                str(p.errors),
                f"{p.throughput:.0f}",
                f"{p.p50_ms:.1f}",
                f"{p.p99_ms:.1f}",
                ratio,
                f"{p.server_cpu_pct:.0f}%",
                f"{p.server_cpu_ms_per_req:.2f}",
                f"{p.gen_cpu_pct:.0f}%",
                f"{p.machine_cpu_pct:.0f}%",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells))
        if n == 0:
            print("  ".join("-" * w for w in widths))


LEGEND = (
    "req/s: 2xx per second; p50/p99: ms (open loop: from when each request was due); ratio: req/s over the\n"
    "baseline's closed-loop mean; srv cpu: server process, % of one core; ms/req: its CPU per request;\n"
    "gen cpu: this load generator; machine: every process on the box, % of one core (200% = both busy)"
)


def verdicts(phases: list[Phase], stored: list[Stored], opts: Options) -> tuple[list[str], bool, bool]:
    """Lines on validity and targets; (lines, run valid, targets met)."""
    lines, valid, met = [], True, True
    for p in phases:
        if p.errors:
            valid = False
            lines.append(f"INVALID {p.case} {p.mode}: {p.errors} errors {p.statuses}; e.g. {p.samples[:3]}")
    for s in stored:
        ok = "ok" if s.valid else "MISMATCH"
        valid &= s.valid
        lines.append(
            f"stored {s.case}: {s.accepted_202} x 202 -> {s.episodes} episodes, {s.versions} versions, "
            f"{s.outbox} outbox rows ({s.outbox_pending} unpublished at stop): {ok}"
        )
    for p in phases:
        if p.steal_pct > 5:
            lines.append(f"note {p.case} {p.mode}: {p.steal_pct:.0f}% CPU stolen by other guests (noisy machine)")
        if p.max_send_lag_ms > 10:
            lines.append(f"note {p.case} {p.mode}: the generator sent up to {p.max_send_lag_ms:.0f} ms late")
        if not p.case.startswith("intake"):
            continue
        if p.mode.startswith("closed") and p.ratio is not None:
            hit = p.ratio >= TARGET_RATIO
            met &= hit
            lines.append(f"target {p.case}: throughput {p.ratio:.2f} x baseline (>= {TARGET_RATIO:.2f}): {_word(hit)}")
        if p.mode.startswith("open"):
            hit = p.p99_ms <= TARGET_P99_MS and p.throughput >= 0.98 * opts.rate
            met &= hit
            lines.append(
                f"target {p.case}: p99 {p.p99_ms:.1f} ms at {p.throughput:.0f}/s (<= {TARGET_P99_MS:g} ms at "
                f"{opts.rate:g}/s): {_word(hit)}"
            )
    return lines, valid, met


def _word(hit: bool) -> str:
    return "met" if hit else "MISSED"


# ---------------------------------------------------------------- main


def parse(argv: list[str] | None) -> Options:
    """Read the command line."""
    p = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured phase (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="closed-loop warm-up seconds per server (default 2)")
    p.add_argument("--concurrency", type=int, default=64, help="connections, closed and open loop (default 64)")
    p.add_argument("--rate", type=float, default=300.0, help="open-loop requests per second (default 300)")
    p.add_argument(
        "--db", action="append", choices=["sqlite", "postgres"], help="intake databases (default: both; repeatable)"
    )
    p.add_argument("--profile", action="store_true", help="py-spy the intake during closed loop (skews numbers)")
    p.add_argument("--strict", action="store_true", help="exit 2 if a target is missed")
    p.add_argument("--output", type=Path, default=ROOT / "bench" / "results", help="where the JSON goes")
    a = p.parse_args(argv)
    return Options(
        duration=a.duration,
        warmup=a.warmup,
        concurrency=a.concurrency,
        rate=a.rate,
        databases=a.db or ["sqlite", "postgres"],
        profile=a.profile,
        strict=a.strict,
        output=a.output,
    )


def main(argv: list[str] | None = None) -> int:
    """Run every case, print the table and write the JSON results."""
    opts = parse(argv)
    wall0 = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = stamp[2:13] + secrets.token_hex(2)
    opts.output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mcn-bench-"))
    body = report_body(run_id, datetime.now(UTC))
    phases: list[Phase] = []
    stored: list[Stored] = []
    ok = False
    broker = Broker(log_path=work / "broker.log")
    bare: Server | None = None
    try:
        print(f"bench: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; work dir {work}", flush=True)
        bare = start_bare(work)
        phases += run_case("baseline", bare, request_factory(bare.port, body, None), opts)
        broker.start()
        for db_kind in opts.databases:
            if db_kind == "sqlite":
                url = f"sqlite+aiosqlite:///{work}/bench.db"
                db = prepare_database("sqlite", url, broker.bootstrap, TENANT)
                more, s = run_intake(db, opts, body, work, stamp)
            else:
                with start_postgres() as pg:
                    db = prepare_database("postgres", pg.create_database("bench"), broker.bootstrap, TENANT)
                    more, s = run_intake(db, opts, body, work, stamp)
            phases += more
            stored.append(s)
        print("  baseline (again): closed loop, for drift", flush=True)
        make = request_factory(bare.port, body, None)
        again = loadgen.closed_loop(LOCAL, bare.port, make, concurrency=opts.concurrency, duration=opts.duration)
        phases.append(measure("baseline-again", f"closed c={opts.concurrency}", bare, again))
        ok = True
    finally:
        if bare is not None:
            bare.stop()
        broker.stop()
        if not ok:
            print(f"bench: failed; logs kept in {work}", file=sys.stderr)

    bases = [p.throughput for p in phases if p.case.startswith("baseline") and p.mode.startswith("closed")]
    base = sum(bases) / len(bases)
    for p in phases:
        if p.mode.startswith("closed"):
            p.ratio = p.throughput / base
    wall = time.monotonic() - wall0
    print()
    print_table(phases)
    print(LEGEND)
    print()
    lines, valid, met = verdicts(phases, stored, opts)
    drift = bases[-1] / bases[0] if len(bases) > 1 and bases[0] else 1.0
    print(f"baseline: {' / '.join(f'{b:.0f}' for b in bases)} req/s (second/first {drift:.2f}); ratios use the mean")
    for line in lines:
        print(line)
    result = {
        "started": stamp,
        "wall_s": round(wall, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "options": {**asdict(opts), "output": str(opts.output)},
        "targets": {"p99_ms_at_rate": TARGET_P99_MS, "throughput_ratio": TARGET_RATIO},
        "baseline_throughput": base,
        "phases": [asdict(p) for p in phases],
        "stored": [{**asdict(s), "valid": s.valid} for s in stored],
        "valid": valid,
        "targets_met": met,
    }
    out = opts.output / f"intake-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wall time {wall:.0f}s; results in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if not valid:
        print(f"run INVALID; server logs kept in {work}")
        for log in sorted(work.glob("*.log")):
            for problem in log_problems(log)[:10]:
                print(f"  {log.name}: {problem}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 2 if opts.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
