"""RHI tracker tables (issue 5)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = shared.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Episodes gain identity, grade, return and cancellation; tasks gain their record and deadline row."""
    with op.batch_alter_table("rhi_episodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("episode_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("looked_after", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("police_person_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("child_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("risk_grade", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("returned_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", UTC_TIME, nullable=True))
        batch_op.create_index(batch_op.f("ix_rhi_episodes_child_id"), ["child_id"], unique=False)
        batch_op.create_index("ix_rhi_episodes_police_person", ["force", "police_person_id"], unique=False)
        batch_op.create_index("ix_rhi_episodes_la_reported", ["responsible_la", "reported_at"], unique=False)
    with op.batch_alter_table("rhi_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_la", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("updated_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("offered_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("offer_method", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("completed_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("on_time", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("outcome_reason", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_episode_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("breached_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("escalations_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_check_at", UTC_TIME, nullable=True))
        batch_op.drop_index("ix_rhi_tasks_due_at")
        batch_op.drop_index("ix_rhi_tasks_responsible_la")
        batch_op.create_index(batch_op.f("ix_rhi_tasks_next_check_at"), ["next_check_at"], unique=False)
        batch_op.create_index("ix_rhi_tasks_worklist", ["responsible_la", "status", "due_at"], unique=False)
    _fill_existing()
    with op.batch_alter_table("rhi_episodes", schema=None) as batch_op:
        batch_op.alter_column("episode_version", existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column("looked_after", existing_type=sa.Boolean(), server_default=None)
    with op.batch_alter_table("rhi_tasks", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column("reminders_sent", existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column("escalations_sent", existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column("updated_at", existing_type=UTC_TIME, nullable=False)
    op.create_table(
        "rhi_task_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rhi_task_history")),
    )
    with op.batch_alter_table("rhi_task_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rhi_task_history_task_id"), ["task_id"], unique=False)


def _fill_existing() -> None:
    """Rows written before this revision: identity from the child record; open tasks are swept from their return."""
    episodes = sa.table(
        "rhi_episodes",
        sa.column("episode_id", sa.String()),
        sa.column("child", sa.JSON()),
        sa.column("looked_after", sa.Boolean()),
        sa.column("police_person_id", sa.String()),
    )
    tasks = sa.table(
        "rhi_tasks",
        sa.column("status", sa.String()),
        sa.column("opened_at", UTC_TIME),
        sa.column("returned_at", UTC_TIME),
        sa.column("updated_at", UTC_TIME),
        sa.column("next_check_at", UTC_TIME),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(episodes.c.episode_id, episodes.c.child)).all():
        child = row.child or {}
        values = {"looked_after": bool(child.get("looked_after")), "police_person_id": child.get("police_person_id")}
        connection.execute(episodes.update().where(episodes.c.episode_id == row.episode_id).values(**values))
    connection.execute(tasks.update().values(updated_at=tasks.c.opened_at))
    connection.execute(tasks.update().where(tasks.c.status == "open").values(next_check_at=tasks.c.returned_at))


def downgrade() -> None:
    """Back to the foundation's tables (the history and the new columns are dropped)."""
    with op.batch_alter_table("rhi_task_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rhi_task_history_task_id"))
    op.drop_table("rhi_task_history")
    with op.batch_alter_table("rhi_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_rhi_tasks_worklist")
        batch_op.drop_index(batch_op.f("ix_rhi_tasks_next_check_at"))
        batch_op.create_index("ix_rhi_tasks_responsible_la", ["responsible_la"], unique=False)
        batch_op.create_index("ix_rhi_tasks_due_at", ["due_at"], unique=False)
        for column in (
            "next_check_at",
            "escalations_sent",
            "breached_at",
            "reminders_sent",
            "superseded_by_episode_id",
            "outcome",
            "outcome_reason",
            "closed_at",
            "findings",
            "on_time",
            "completed_at",
            "offer_method",
            "offered_at",
            "updated_at",
            "version",
            "host_la",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("rhi_episodes", schema=None) as batch_op:
        batch_op.drop_index("ix_rhi_episodes_la_reported")
        batch_op.drop_index("ix_rhi_episodes_police_person")
        batch_op.drop_index(batch_op.f("ix_rhi_episodes_child_id"))
        for column in (
            "cancelled_at",
            "returned_at",
            "risk_grade",
            "child_id",
            "police_person_id",
            "looked_after",
            "episode_version",
        ):
            batch_op.drop_column(column)
