"""Inbox: the ids of events a service has already processed, written in the handler's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime
from shared.events.envelope import CloudEvent


class InboxEntry(Base):
    """One processed event, per consuming service."""

    __tablename__ = "inbox"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


async def first_time(session: AsyncSession, *, service: str, event_id: str, event_type: str, now: datetime) -> bool:
    """Record the event as processed; return False if it already was (a redelivery)."""
    seen = await session.scalar(
        select(InboxEntry.event_id).where(InboxEntry.service == service, InboxEntry.event_id == event_id)
    )
    if seen is not None:
        return False
    session.add(InboxEntry(service=service, event_id=event_id, event_type=event_type, processed_at=now))
    await session.flush()
    return True


async def record_new(session: AsyncSession, *, service: str, events: list[CloudEvent], now: datetime) -> set[str]:
    """Record, in one query, which of a batch's events were not processed before; return their ids.

    An event twice in the batch counts once. The inbox rows are written with the caller's transaction.
    """
    ids = {event.id for event in events}
    query = select(InboxEntry.event_id).where(InboxEntry.service == service, InboxEntry.event_id.in_(ids))
    new = ids - set(await session.scalars(query))
    added: set[str] = set()
    for event in events:
        if event.id in new and event.id not in added:
            session.add(InboxEntry(service=service, event_id=event.id, event_type=event.type, processed_at=now))
            added.add(event.id)
    return new
