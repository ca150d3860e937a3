"""Tables owned by the notifier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime


class DeliveryStatus:
    """States of a delivery: pending (due or backing off) -> delivered | dead; a replay makes dead pending."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    ALL = (PENDING, DELIVERED, DEAD)


class Delivery(Base):
    """One notice to one recipient over one channel; its id is the webhook-id recipients dedupe by."""

    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "channel"),
        Index("ix_notifier_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notifier_deliveries_log", "local_authority", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # What the notice is about (for the ops log's tenancy and the outcome events); never a name.
    episode_id: Mapped[str | None] = mapped_column(String(64), default=None)
    child_id: Mapped[str | None] = mapped_column(String(64), default=None)
    local_authority: Mapped[str | None] = mapped_column(String(9), default=None)
    statutory: Mapped[bool] = mapped_column(Boolean, default=False)
    # The dead delivery this one is the fallback for, or the ops alert about.
    parent_id: Mapped[str | None] = mapped_column(String(40), default=None)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    replays: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryLogEntry(Base):
    """Every attempt and every replay of a delivery: what happened, when, and who replayed it."""

    __tablename__ = "notifier_delivery_log"
    __table_args__ = (Index("ix_notifier_delivery_log_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # attempt | replay
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retry | failed | dead | replayed
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)


class HeldStatus:
    """States of a held notice."""

    HELD = "held"
    RELEASED = "released"
    CANCELLED = "cancelled"


class HeldNotice(Base):
    """A notice waiting for its release time (a school morning, a digest time); released by a sweep.

    Held rows of one recipient, group (the child, for schools) and release time become one notice.
    """

    __tablename__ = "notifier_held_notices"
    __table_args__ = (
        UniqueConstraint("recipient_id", "event_id"),
        Index("ix_notifier_held_notices_due", "status", "release_at"),
        Index("ix_notifier_held_notices_episode", "episode_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # school_morning | digest
    recipient_id: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    episode_id: Mapped[str | None] = mapped_column(String(64), default=None)
    child_id: Mapped[str | None] = mapped_column(String(64), default=None)
    local_authority: Mapped[str | None] = mapped_column(String(9), default=None)
    content: Mapped[str] = mapped_column(Text)
    release_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EpisodeState(Base):
    """What the notifier knows of an episode's return or cancellation, for notices built at release time."""

    __tablename__ = "notifier_episodes"

    episode_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
