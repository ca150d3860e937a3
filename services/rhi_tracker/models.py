"""Tables owned by the RHI tracker: what it knows of episodes, the tasks with their deadline rows, the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime


class TrackedEpisode(Base):
    """What the tracker knows of an episode from the episode and classification events."""

    __tablename__ = "rhi_episodes"
    __table_args__ = (
        Index("ix_rhi_episodes_police_person", "force", "police_person_id"),
        Index("ix_rhi_episodes_la_reported", "responsible_la", "reported_at"),
    )

    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    force: Mapped[str] = mapped_column(String(64))
    police_reference: Mapped[str] = mapped_column(String(64))
    # The episode version the row reflects: an older version arriving late never overwrites a newer one.
    episode_version: Mapped[int] = mapped_column(Integer, default=1)
    responsible_la: Mapped[str] = mapped_column(String(9))
    host_la: Mapped[str | None] = mapped_column(String(9))
    looked_after: Mapped[bool] = mapped_column(Boolean, default=False)
    police_person_id: Mapped[str | None] = mapped_column(String(200), default=None)
    child_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)  # the classifier's
    child: Mapped[dict[str, Any]] = mapped_column(JSON)
    risk_grade: Mapped[str | None] = mapped_column(String(32), default=None)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    classification: Mapped[str | None] = mapped_column(String(16), default=None)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Task(Base):
    """A return home interview task; its deadline is this row, swept rather than timed in memory.

    `version` counts changes to the task's state and record (what If-Match guards); the deadline
    markers the sweep sets (reminders_sent, breached_at, escalations_sent, next_check_at) do not
    change it, so a breach never invalidates an interviewer's edit in progress.
    """

    __tablename__ = "rhi_tasks"
    __table_args__ = (Index("ix_rhi_tasks_worklist", "responsible_la", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), unique=True)
    responsible_la: Mapped[str] = mapped_column(String(9))
    host_la: Mapped[str | None] = mapped_column(String(9), default=None)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    offer_method: Mapped[str | None] = mapped_column(String(200), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    on_time: Mapped[bool | None] = mapped_column(Boolean, default=None)
    findings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The terminal transition (declined, not possible, not offered, superseded, cancelled): when, why, details.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome_reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    superseded_by_episode_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Deadline row: what the sweep has done, and when it next needs to look (NULL: never again).
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    escalations_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)


class TaskHistory(Base):
    """One transition of a task: the event it emitted, who, when and why (the task detail's history)."""

    __tablename__ = "rhi_task_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
