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


async def record_new(session: AsyncSession, *, service: str, events: list[CloudEvent], now: datetime) -> set[str]:
    """Record, in one query, which of a batch's events were not processed before; return their ids.

    An event twice in the batch counts once. The inbox rows are written with the caller's transaction.
    """
    first = {event.id: event for event in events}  # in batch order, each id once
    query = select(InboxEntry.event_id).where(InboxEntry.service == service, InboxEntry.event_id.in_(first))
    seen = set(await session.scalars(query))
    new = [event for event_id, event in first.items() if event_id not in seen]
    session.add_all(InboxEntry(service=service, event_id=e.id, event_type=e.type, processed_at=now) for e in new)
    return {event.id for event in new}
