"""Published outbox rows are deleted once no republish can need them; nothing unpublished ever is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import FrozenClock
from shared.outbox import PRUNE_BATCH, OutboxMessage, prune
from shared.sweeps import Sweeper

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=1)


def row(name: str, service: str, published_at: datetime | None) -> OutboxMessage:
    created = published_at or NOW - timedelta(days=3)
    return OutboxMessage(
        service=service,
        event_id=name,
        event_type="episode.returned",
        topic="episodes",
        key="k",
        value=b"{}",
        created_at=created,
        published_at=published_at,
    )


async def test_only_rows_published_before_the_retention_are_deleted(sessions: async_sessionmaker[AsyncSession]) -> None:
    old = [row(f"old-{n}", "intake", NOW - RETENTION - timedelta(minutes=1 + n)) for n in range(PRUNE_BATCH + 5)]
    kept = [
        row("just-inside", "intake", NOW - RETENTION + timedelta(seconds=1)),
        row("never-published", "intake", None),
        row("other-service", "classifier", NOW - timedelta(days=30)),
    ]
    async with sessions() as session, session.begin():
        session.add_all(old + kept)
    sweeper = Sweeper(sessions=sessions, clock=FrozenClock(NOW), after_commit=lambda: None)

    deleted = await sweeper.run(prune("intake", retention=RETENTION, every=timedelta(minutes=5)))

    assert deleted == len(old), "passes repeat while they come back full"
    async with sessions() as session:
        left = set(await session.scalars(select(OutboxMessage.event_id)))
    assert left == {"just-inside", "never-published", "other-service"}
