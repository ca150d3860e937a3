"""Benchmark: the classifier's throughput beside raw consumption, and MSET list latency at county scale.

    .venv/bin/python -m bench.classifier [--events 20000] [--children 100000] [--episodes 1000000] [--requests 300]

1. Throughput, on a fresh tansu broker and a throwaway PostgreSQL: `--events` episode.reported
   events (children reported 1 to 4 times, some with police person ids) are produced to `episodes`.
   A bare aiokafka consumer reads the whole topic (the raw rate); then the real classifier process
   (python -m services.classifier) consumes it. Its rate is (events - 1) / (last - first inbox time),
   so the consumer group join is not counted; the time until its outbox is published is shown too.
2. MSET list latency: one partnership with `--children` children and `--episodes` episodes,
   bulk-loaded with COPY (a fifth of the children meet a rule), and one other partnership's children
   beside them. The classifier process serves `--requests` sequential GET /v1/mset/children
   requests (pages, LA and rule filters, sorts) with an MSET key; p50/p95/p99 are reported.
Not a test: nothing here is collected by pytest. Targets: >= 2,000 events/s; list p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack.broker import Broker, free_port, wait_for_port
from devstack.postgres import PostgresServer, start_postgres
from shared.events.codec import encode, to_event
from shared.events.codes import RiskGrade, WarningMarker
from shared.events.payloads.base import ChildRecord
from shared.events.payloads.episode import EpisodeReported

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "deploy" / "policy.example.yaml"
TEES = ["E06000001", "E06000002", "E06000003", "E06000004"]
OTHER = ["E06000047", "E06000005"]
TARGET_RATE, TARGET_P95_MS = 2000.0, 100.0


def run(cmd: list[str], env: dict[str, str]) -> str:
    """Run a project command, failing loudly."""
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def env_for(url: str, bootstrap: str, port: int) -> dict[str, str]:
    """The classifier's environment."""
    return {
        **os.environ,
        "MCN_DATABASE_URL": url,
        "MCN_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MCN_HTTP_PORT": str(port),
        "MCN_POLICY_FILE": str(POLICY),
        "MCN_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def migrate(url: str) -> None:
    """Upgrade a database to head with the project's Alembic history."""
    run([sys.executable, "-m", "alembic", "-c", "alembic.ini", "-x", f"url={url}", "upgrade", "head"], dict(os.environ))


def start_classifier(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The real classifier process."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.classifier"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    wait_for_port("127.0.0.1", int(env["MCN_HTTP_PORT"]), 60, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- throughput


def episode_events(n: int, now: datetime) -> list[tuple[bytes, bytes]]:
    """(key, value) of n reports: about n/2.5 children, each reported 1-4 times in the last 60 days."""
    rng, out = random.Random(7), list[tuple[bytes, bytes]]()
    grades = list(RiskGrade)
    while len(out) < n:
        i = len(out)
        person = f"P-{i}" if rng.random() < 0.5 else None
        child = ChildRecord(
            police_person_id=person,
            given_name=f"Child{i}",
            family_name=rng.choice(["Smith", "Jones", "Taylor", "Brown"]),
            date_of_birth=date(2010 + rng.randrange(6), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            responsible_la=rng.choice(TEES),
            warning_markers=(WarningMarker.CSE,) if rng.random() < 0.05 else (),
        )
        for _ in range(min(1 + rng.randrange(4), n - len(out))):
            episode_id = str(uuid.uuid4())
            payload = EpisodeReported(
                episode_id=episode_id,
                force=rng.choice(["cleveland", "durham"]),
                police_reference=f"B-{episode_id[:12]}",
                reported_at=now - timedelta(days=rng.randrange(60), minutes=rng.randrange(1440)),
                risk_grade=rng.choice(grades),
                child=child,
            )
            out.append((episode_id.encode(), encode(to_event(payload, source="intake", time=now))))
    return out


async def produce_all(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Pipelined sends, awaited together."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_rate(bootstrap: str, topic: str, n: int) -> float:
    """Events/s a bare consumer reads the topic at (from its first record)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    seen, first = 0, 0.0
    try:
        while seen < n:
            for batch in (await consumer.getmany(timeout_ms=200, max_records=500)).values():
                first = first or time.perf_counter()
                seen += len(batch)
    finally:
        await consumer.stop()
    return (n - 1) / (time.perf_counter() - first)


async def wait_processed(url: str, n: int, timeout: float) -> dict[str, float]:
    """Wait until the classifier's inbox holds n events and its outbox is published; return the rates."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            count, first, last = await conn.fetchrow(
                "SELECT count(*), min(processed_at), max(processed_at) FROM inbox WHERE service = 'classifier'"
            )
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if count >= n and pending == 0:
                published = await conn.fetchval("SELECT max(published_at) FROM outbox")
                return {
                    "processed": count,
                    "events_per_s": (count - 1) / (last - first).total_seconds(),
                    "published_within_s": (published - first).total_seconds(),
                }
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise TimeoutError(f"the classifier did not process {n} events within {timeout}s")


def throughput(pg: PostgresServer, events: int, log_dir: Path) -> dict[str, Any]:
    """Raw consumption and the classifier on the same topic, same run."""
    broker = Broker(log_path=log_dir / "broker.log").start()
    try:
        url = pg.create_database("bench_throughput")
        migrate(url)
        records = episode_events(events, datetime.now(UTC))
        asyncio.run(produce_all(broker.bootstrap, "episodes", records))
        raw = asyncio.run(raw_rate(broker.bootstrap, "episodes", events))
        proc = start_classifier(env_for(url, broker.bootstrap, free_port()), log_dir / "classifier-throughput.log")
        try:
            result = asyncio.run(wait_processed(url, events, timeout=max(600.0, events / 20)))
        finally:
            stop(proc)
    finally:
        broker.stop()
    return {"events": events, "raw_events_per_s": raw, **result, "ratio": result["events_per_s"] / raw}


# ---------------------------------------------------------------- list latency


async def bulk_load(url: str, children: int, episodes: int, others: int) -> None:
    """Children (a fifth meet a rule) with their repeat states, and their episodes, by COPY."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    rng, now = random.Random(11), datetime.now(UTC)
    try:
        child_rows, states, ids = [], [], []
        for i in range(children + others):
            cid, on_list = str(uuid.uuid4()), rng.random() < 0.2
            las = TEES if i < children else OTHER
            host = rng.choice(las + OTHER) if rng.random() < 0.1 else None
            last = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
            rules = ["repeat-3-in-30-days"] if on_list else []
            child_rows.append(
                (cid, now, f"Child{i}", "Example", date(2011, 5, 1), rng.choice(las), host, host is not None,
                 host is not None, json.dumps([]), 10, 3 if on_list else 1, None, last, last, None, json.dumps({}),
                 json.dumps(rules), on_list, None)
            )  # fmt: skip
            states += [(cid, "repeat-3-in-30-days", True, 3, now, now)] if on_list else []
            ids.append(cid)
        await conn.copy_records_to_table("classifier_children", records=child_rows)
        await conn.copy_records_to_table("classifier_repeat_states", records=states)
        facts = json.dumps({"risk_grade": "medium"})
        for start in range(0, episodes, 100_000):
            rows = [
                (str(uuid.uuid4()), ids[j % children], "cleveland", f"R{j}", None, f"k{j % children}", False, 1,
                 now - timedelta(hours=j % 5000), None, None, "missing", "[]", False, None, facts)
                for j in range(start, min(start + 100_000, episodes))
            ]  # fmt: skip
            await conn.copy_records_to_table("classifier_episodes", records=rows)
        await conn.execute("VACUUM ANALYZE")  # what autovacuum would have done to a table this size
    finally:
        await conn.close()


def list_requests(n: int) -> list[dict[str, Any]]:
    """A mix of what a coordinator asks for: first pages mostly, filters and sorts, some deeper pages."""
    rng, sorts = random.Random(3), ["-last_reported_at", "-episodes_in_window", "family_name", "last_reported_at"]
    out: list[dict[str, Any]] = []
    for _ in range(n):
        params: dict[str, Any] = {"sort": rng.choice(sorts), "limit": 50, "offset": rng.choice([0, 0, 0, 50, 500])}
        if rng.random() < 0.3:
            params["la"] = rng.choice(TEES)
        if rng.random() < 0.2:
            params["rule"] = "repeat-3-in-30-days"
        out.append(params)
    return out


def list_latency(pg: PostgresServer, children: int, episodes: int, requests: int, log_dir: Path) -> dict[str, Any]:
    """p50/p95/p99 of GET /v1/mset/children for one partnership, through the real process."""
    url = pg.create_database("bench_list")
    migrate(url)
    started = time.perf_counter()
    asyncio.run(bulk_load(url, children, episodes, others=children // 10))
    loaded = time.perf_counter() - started
    port = free_port()
    env = env_for(url, "127.0.0.1:1", port)  # no broker needed to serve reads
    key = run([sys.executable, "-m", "shared.auth_cli", "create", "--role", "mset", "--tenant", "tees"], env)
    headers = {"Authorization": f"Bearer {key.strip().splitlines()[-1]}"}
    proc = start_classifier(env, log_dir / "classifier-list.log")
    try:
        base = f"http://127.0.0.1:{port}/v1/mset/children"
        with httpx.Client(timeout=30) as client:
            for params in list_requests(20):  # warm-up
                client.get(base, params=params, headers=headers).raise_for_status()
            times, total = [], 0
            for params in list_requests(requests):
                t0 = time.perf_counter()
                response = client.get(base, params=params, headers=headers)
                times.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
                total = response.json()["total"] if "la" not in params and "rule" not in params else total
            t0 = time.perf_counter()
            csv_rows = client.get(base.replace("children", "children.csv"), headers=headers).text.count("\n") - 1
            csv_ms = (time.perf_counter() - t0) * 1000
    finally:
        stop(proc)
    q = statistics.quantiles(times, n=100)
    return {
        "children": children,
        "episodes": episodes,
        "on_list": total,
        "load_s": loaded,
        "requests": requests,
        "p50_ms": q[49],
        "p95_ms": q[94],
        "p99_ms": q[98],
        "csv_rows": csv_rows,
        "csv_ms": csv_ms,
    }


def main() -> None:
    """Run both parts and print the figures (and write them to bench/results/)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-classifier-"))
    results: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "logs": str(log_dir)}
    with start_postgres() as pg:
        if not args.skip_throughput:
            results["throughput"] = t = throughput(pg, args.events, log_dir)
            print(
                f"classifier: {t['events_per_s']:.0f} events/s ({t['events']} events; outbox published within "
                f"{t['published_within_s']:.1f} s) | raw consumption {t['raw_events_per_s']:.0f} events/s | "
                f"ratio {t['ratio']:.3f} | target >= {TARGET_RATE:.0f} events/s"
            )
        if not args.skip_list:
            results["list"] = lst = list_latency(pg, args.children, args.episodes, args.requests, log_dir)
            print(
                f"MSET list: {lst['children']} children, {lst['episodes']} episodes, {lst['on_list']} on the list "
                f"(loaded in {lst['load_s']:.0f} s) | {lst['requests']} requests: p50 {lst['p50_ms']:.1f} ms, "
                f"p95 {lst['p95_ms']:.1f} ms, p99 {lst['p99_ms']:.1f} ms | target p95 <= {TARGET_P95_MS:.0f} ms | "
                f"CSV of {lst['csv_rows']} rows in {lst['csv_ms']:.0f} ms"
            )
    out = ROOT / "bench" / "results" / f"classifier-{results['at'].replace(':', '')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
