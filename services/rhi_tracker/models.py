"""Tables owned by the RHI tracker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime


class TrackedEpisode(Base):
    """What the tracker knows of an episode from the episode and classification events."""

    __tablename__ = "rhi_episodes"

    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    force: Mapped[str] = mapped_column(String(64))
    police_reference: Mapped[str] = mapped_column(String(64))
    responsible_la: Mapped[str] = mapped_column(String(9))
    host_la: Mapped[str | None] = mapped_column(String(9))
    child: Mapped[dict[str, Any]] = mapped_column(JSON)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    classification: Mapped[str | None] = mapped_column(String(16), default=None)


class Task(Base):
    """A return home interview task; its due time is a row, swept rather than timed in memory."""

    __tablename__ = "rhi_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), unique=True)
    responsible_la: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(16))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
