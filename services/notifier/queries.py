"""The ops delivery log: a partnership's deliveries with filters, one delivery with its history. Reads only."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.models import Delivery, DeliveryLogEntry
from services.notifier.schemas import DeliveryDetail, DeliveryPage, DeliveryView, LogEntryView
from shared.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Filters:
    """What the ops log may be narrowed by; None means any."""

    status: str | None = None
    recipient_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _cursor(row: Delivery) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        when, _, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(when), delivery_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "cursor is not one this API issued", errors=[{"pointer": "/cursor", "message": "invalid"}]
        ) from None


def _filtered(authorities: frozenset[str], f: Filters) -> Select[Delivery]:
    query = select(Delivery).where(Delivery.local_authority.in_(sorted(authorities)))
    for column, value in (
        (Delivery.status, f.status),
        (Delivery.recipient_id, f.recipient_id),
        (Delivery.event_type, f.event_type),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(Delivery.created_at >= f.since)
    if f.until is not None:
        query = query.where(Delivery.created_at < f.until)
    return query


async def list_deliveries(
    session: AsyncSession, *, authorities: frozenset[str], filters: Filters, limit: int, cursor: str | None
) -> DeliveryPage:
    """Deliveries about the partnership's local authorities, newest first."""
    query = _filtered(authorities, filters)
    if cursor is not None:
        when, delivery_id = _decode_cursor(cursor)
        query = query.where(tuple_(Delivery.created_at, Delivery.id) < tuple_(when, delivery_id))
    query = query.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    items = [DeliveryView.model_validate(r) for r in rows[:limit]]
    return DeliveryPage(items=items, next_cursor=_cursor(rows[limit - 1]) if more else None)


async def read_delivery(session: AsyncSession, *, authorities: frozenset[str], delivery_id: str) -> DeliveryDetail:
    """One delivery and its history; another partnership's delivery does not exist for the caller."""
    row = await session.get(Delivery, delivery_id)
    if row is None or row.local_authority not in authorities:
        raise NotFound(f"no delivery {delivery_id} for this partnership")
    entries = await session.scalars(
        select(DeliveryLogEntry).where(DeliveryLogEntry.delivery_id == delivery_id).order_by(DeliveryLogEntry.id)
    )
    history = [LogEntryView.model_validate(e) for e in entries]
    return DeliveryDetail(**DeliveryView.model_validate(row).model_dump(), history=history)
