"""Tables owned by intake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime


class Episode(Base):
    """An episode's current state: the latest record plus what intake heard back from downstream."""

    __tablename__ = "intake_episodes"
    __table_args__ = (
        UniqueConstraint("force", "police_reference"),
        Index("ix_intake_episodes_force_status", "force", "status", "reported_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    force: Mapped[str] = mapped_column(String(64))
    police_reference: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    risk_grade: Mapped[str] = mapped_column(String(32))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    return_details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cancellation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    report_hash: Mapped[str] = mapped_column(String(64))
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    rhi: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EpisodeVersion(Base):
    """One version of an episode's record, kept forever: who changed what, when and why."""

    __tablename__ = "intake_episode_versions"

    episode_id: Mapped[str] = mapped_column(String(36), ForeignKey("intake_episodes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_fields: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    recorded_by: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyKey(Base):
    """The answer given to a request sent with an Idempotency-Key, replayed for the same request."""

    __tablename__ = "intake_idempotency_keys"

    force: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
