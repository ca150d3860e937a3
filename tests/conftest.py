"""Shared fixtures: one tansu broker and one PostgreSQL server per test session; a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.broker import Broker
from devstack.postgres import PostgresServer, start_postgres
from shared.config import KafkaConfig, ServiceSettings
from shared.db import make_engine, make_session_factory
from shared.kafka.client import ProducerHolder
from tests.support import upgrade


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """A fresh in-memory tansu broker for the whole session (topics are isolated by prefix)."""
    b = Broker().start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session."""
    with start_postgres() as pg:
        yield pg


def new_database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the given kind."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database("t_" + uuid.uuid4().hex[:12])


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: each test using it runs on SQLite and on PostgreSQL."""
    url = new_database_url(request.param, tmp_path, request)
    upgrade(url)
    return url


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on the test database."""
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def kafka(broker: Broker) -> KafkaConfig:
    """Client settings for the session broker, with a topic prefix of this test's own."""
    base = ServiceSettings(
        kafka_bootstrap_servers=broker.bootstrap, kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=500
    ).kafka()
    return replace(base, topic_prefix=f"t{uuid.uuid4().hex[:8]}.", partitions=1)


Producers = Callable[[KafkaConfig], ProducerHolder]


@pytest.fixture
async def producers() -> AsyncIterator[Producers]:
    """Makes producer holders for a test and closes every one of them after it."""
    made: list[ProducerHolder] = []

    def make(config: KafkaConfig) -> ProducerHolder:
        made.append(ProducerHolder(config))
        return made[-1]

    yield make
    for holder in made:
        await holder.close()
