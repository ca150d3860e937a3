"""Tables owned by the classifier: children, their episodes, decisions, links, repeat state, timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime

Id = String(36)


class Child(Base):
    """A pseudonymous child, with the summary the MSET list reads (kept current by the handlers)."""

    __tablename__ = "classifier_children"
    # The MSET list reads children on the list in one of three orders: a partial index per order; the
    # fourth (with host_la in place of id) lets the total be counted from the index alone.
    __table_args__ = tuple(
        Index(
            f"ix_classifier_children_list_{column}",
            column,
            "host_la" if column == "responsible_la" else "id",
            postgresql_where=text("on_list"),
            sqlite_where=text("on_list"),
        )
        for column in ("last_reported_at", "episodes_in_window", "family_name", "responsible_la")
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    given_name: Mapped[str | None] = mapped_column(String(100), default=None)
    family_name: Mapped[str | None] = mapped_column(String(100), default=None)
    date_of_birth: Mapped[date | None] = mapped_column(Date(), default=None)
    responsible_la: Mapped[str | None] = mapped_column(String(9), default=None)
    host_la: Mapped[str | None] = mapped_column(String(9), default=None)
    looked_after: Mapped[bool] = mapped_column(Boolean(), default=False)
    out_of_area: Mapped[bool] = mapped_column(Boolean(), default=False)
    markers: Mapped[list[str]] = mapped_column(JSON, default=list)
    episode_count: Mapped[int] = mapped_column(Integer(), default=0)
    episodes_in_window: Mapped[int] = mapped_column(Integer(), default=0)
    last_episode_id: Mapped[str | None] = mapped_column(Id, default=None)
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rhi: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    themes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    on_list: Mapped[bool] = mapped_column(Boolean(), default=False)
    # When a counted episode leaves a window: the repeat rules must be looked at again then.
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)


class Episode(Base):
    """What the classifier knows of one episode: its child, current classification and the facts."""

    __tablename__ = "classifier_episodes"
    __table_args__ = (
        Index("ix_classifier_episodes_person", "force", "police_person_id"),
        Index("ix_classifier_episodes_child", "child_id", "reported_at"),
    )

    episode_id: Mapped[str] = mapped_column(Id, primary_key=True)
    child_id: Mapped[str] = mapped_column(Id)
    force: Mapped[str] = mapped_column(String(64))
    police_reference: Mapped[str] = mapped_column(String(64))
    police_person_id: Mapped[str | None] = mapped_column(String(200), default=None)
    match_key: Mapped[str] = mapped_column(String(420), index=True)
    # Linked by a person: the matcher never moves it again.
    manual: Mapped[bool] = mapped_column(Boolean(), default=False)
    version: Mapped[int] = mapped_column(Integer())
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    classification: Mapped[str] = mapped_column(String(16))
    # Rule ids of the latest evaluation by the rules (a correction by a person does not change them).
    fired: Mapped[list[str]] = mapped_column(JSON)
    exploitation: Mapped[bool] = mapped_column(Boolean(), default=False)
    # Absent and open: when the still-open sweep must look at it.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)


class Decision(Base):
    """One (re)classification of an episode; never updated, only added to."""

    __tablename__ = "classifier_decisions"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    episode_id: Mapped[str] = mapped_column(Id, index=True)
    child_id: Mapped[str] = mapped_column(Id)
    classification: Mapped[str] = mapped_column(String(16))
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    ruleset_version: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    previous_classification: Mapped[str | None] = mapped_column(String(16), default=None)
    reason: Mapped[str | None] = mapped_column(Text(), default=None)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Link(Base):
    """The audit trail of identity: every link of an episode to a child, by the matcher or a person."""

    __tablename__ = "classifier_links"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    episode_id: Mapped[str] = mapped_column(Id, index=True)
    child_id: Mapped[str] = mapped_column(Id, index=True)
    previous_child_id: Mapped[str | None] = mapped_column(Id, default=None, index=True)
    action: Mapped[str] = mapped_column(String(16))  # linked | unlinked
    method: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(Text(), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RepeatState(Base):
    """Whether a child is over a repeat-missing rule, so each crossing is announced once."""

    __tablename__ = "classifier_repeat_states"

    child_id: Mapped[str] = mapped_column(Id, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    over: Mapped[bool] = mapped_column(Boolean())
    count: Mapped[int] = mapped_column(Integer())
    crossed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RhiStatus(Base):
    """The latest state of an episode's return home interview, from the tracker's events (either order)."""

    __tablename__ = "classifier_rhi"

    episode_id: Mapped[str] = mapped_column(Id, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    on_time: Mapped[bool | None] = mapped_column(Boolean(), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    findings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class TimelineItem(Base):
    """Something that happened to an episode (or a child) that the timeline shows."""

    __tablename__ = "classifier_timeline"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    episode_id: Mapped[str | None] = mapped_column(Id, default=None, index=True)
    child_id: Mapped[str | None] = mapped_column(Id, default=None, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
