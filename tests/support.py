"""Helpers for tests: migrations and polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from alembic import command
from alembic.config import Config
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def upgrade(url: str) -> None:
    """Run the Alembic history to head on a database."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll an async predicate until it returns something truthy, or fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 10.0) -> list[Any]:
    """Read a topic from the beginning (no group) until `expected` records arrived or time ran out."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    """Send one raw record and wait for the broker's acknowledgement."""
    await produce_many(bootstrap, topic, [value], key)


async def produce_many(bootstrap: str, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    """Send records in one burst (pipelined) and wait for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def commit_as(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    """Commit an offset for a consumer group from outside it, without metadata."""
    setter = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await setter.start()
    try:
        setter.assign([tp])
        await setter.commit({tp: OffsetAndMetadata(offset, "")})
    finally:
        await setter.stop()


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str = "http://service") -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app built by a composition root, without its background parts; closes the runtime after."""
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        await app.state.runtime.close()
