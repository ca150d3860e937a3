"""The ceilings a national-year run is compared with, measured in the same run on the same machine.

- bare endpoint: a FastAPI app that validates the same report bodies and answers 202 (bench/bare.py),
  driven by the same load generator for a few seconds; requests/s;
- raw Kafka: aiokafka producing report-sized records to a 3-partition topic on the run's broker and one
  consumer reading them back, in one process; records/s from the first send to the last record read.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from itertools import cycle
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import loadgen
from bench.servers import start_bare

PARTITIONS = 3


def requests_for(port: int, bodies: Sequence[dict[str, Any]]) -> loadgen.MakeRequest:
    """Pre-built POST /v1/episodes requests cycling through the given bodies."""
    built = []
    for body in bodies:
        raw = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST /v1/episodes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n"
        ).encode()
        built.append(head + raw)
    return cycle(built).__next__


def bare_endpoint(bodies: Sequence[dict[str, Any]], log_dir: Path, seconds: float, concurrency: int = 32) -> float:
    """Requests/s of the bare endpoint, closed loop, after a one-second warm-up."""
    server = start_bare(log_dir)
    try:
        make = requests_for(server.port, bodies)
        asyncio.run(loadgen.closed_loop("127.0.0.1", server.port, make, concurrency=concurrency, duration=1.0))
        stats = asyncio.run(
            loadgen.closed_loop("127.0.0.1", server.port, make, concurrency=concurrency, duration=seconds)
        )
    finally:
        server.stop()
    if stats.errors:
        raise RuntimeError(f"bare endpoint answered errors: {stats.samples}")
    return stats.ok / stats.elapsed


async def raw_kafka(bootstrap: str, records: int, size: int) -> float:
    """Records/s produced and consumed back through the broker (no database, no processing)."""
    topic = f"ceiling-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()
    value = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        started = time.perf_counter()
        read = asyncio.create_task(_read(consumer, records))
        for i in range(records):
            await producer.send(topic, value, key=str(i).encode())
        await producer.flush()
        await asyncio.wait_for(read, timeout=300)
        return records / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def _read(consumer: AIOKafkaConsumer, records: int) -> None:
    seen = 0
    while seen < records:
        batches = await consumer.getmany(timeout_ms=500, max_records=5000)
        seen += sum(len(batch) for batch in batches.values())
