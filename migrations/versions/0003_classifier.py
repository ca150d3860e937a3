"""classifier tables (issue 4)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: the classifier's children, episodes, links, repeat state, interview status, timeline."""
    op.create_table(
        "classifier_children",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("responsible_la", sa.String(length=9), nullable=True),
        sa.Column("host_la", sa.String(length=9), nullable=True),
        sa.Column("looked_after", sa.Boolean(), nullable=False),
        sa.Column("out_of_area", sa.Boolean(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("episode_count", sa.Integer(), nullable=False),
        sa.Column("episodes_in_window", sa.Integer(), nullable=False),
        sa.Column("last_episode_id", sa.String(length=36), nullable=True),
        sa.Column("last_reported_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_returned_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rhi", sa.JSON(), nullable=True),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("on_list", sa.Boolean(), nullable=False),
        sa.Column("review_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_children")),
    )
    with op.batch_alter_table("classifier_children", schema=None) as batch_op:
        for column in ("last_reported_at", "episodes_in_window", "family_name", "responsible_la"):
            batch_op.create_index(
                f"ix_classifier_children_list_{column}",
                [column, "host_la" if column == "responsible_la" else "id"],
                unique=False,
                postgresql_where=sa.text("on_list"),
                sqlite_where=sa.text("on_list"),
            )
        batch_op.create_index(batch_op.f("ix_classifier_children_review_at"), ["review_at"], unique=False)

    op.create_table(
        "classifier_episodes",
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("force", sa.String(length=64), nullable=False),
        sa.Column("police_reference", sa.String(length=64), nullable=False),
        sa.Column("police_person_id", sa.String(length=200), nullable=True),
        sa.Column("match_key", sa.String(length=420), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reported_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("returned_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("exploitation", sa.Boolean(), nullable=False),
        sa.Column("escalate_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_classifier_episodes")),
    )
    with op.batch_alter_table("classifier_episodes", schema=None) as batch_op:
        batch_op.create_index("ix_classifier_episodes_child", ["child_id", "reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_classifier_episodes_escalate_at"), ["escalate_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_classifier_episodes_match_key"), ["match_key"], unique=False)
        batch_op.create_index("ix_classifier_episodes_person", ["force", "police_person_id"], unique=False)

    op.create_table(
        "classifier_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("previous_child_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_links")),
    )
    with op.batch_alter_table("classifier_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_links_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_classifier_links_episode_id"), ["episode_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_classifier_links_previous_child_id"), ["previous_child_id"], unique=False)

    op.create_table(
        "classifier_repeat_states",
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("over", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("crossed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("child_id", "rule_id", name=op.f("pk_classifier_repeat_states")),
    )
    op.create_table(
        "classifier_rhi",
        sa.Column("episode_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_classifier_rhi")),
    )
    op.create_table(
        "classifier_timeline",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("child_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_timeline")),
    )
    with op.batch_alter_table("classifier_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_timeline_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_classifier_timeline_episode_id"), ["episode_id"], unique=False)

    # Decisions made before this revision: one child per episode (the foundation's placeholder), reported.
    with op.batch_alter_table("classifier_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("child_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("trigger", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("previous_classification", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
    op.execute("UPDATE classifier_decisions SET child_id = episode_id, reasons = '[]', \"trigger\" = 'reported'")
    with op.batch_alter_table("classifier_decisions", schema=None) as batch_op:
        batch_op.alter_column("child_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column("reasons", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("trigger", existing_type=sa.String(length=16), nullable=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("classifier_decisions", schema=None) as batch_op:
        batch_op.drop_column("actor")
        batch_op.drop_column("reason")
        batch_op.drop_column("previous_classification")
        batch_op.drop_column("trigger")
        batch_op.drop_column("reasons")
        batch_op.drop_column("child_id")

    with op.batch_alter_table("classifier_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_timeline_episode_id"))
        batch_op.drop_index(batch_op.f("ix_classifier_timeline_child_id"))

    op.drop_table("classifier_timeline")
    op.drop_table("classifier_rhi")
    op.drop_table("classifier_repeat_states")
    with op.batch_alter_table("classifier_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_links_previous_child_id"))
        batch_op.drop_index(batch_op.f("ix_classifier_links_episode_id"))
        batch_op.drop_index(batch_op.f("ix_classifier_links_child_id"))

    op.drop_table("classifier_links")
    with op.batch_alter_table("classifier_episodes", schema=None) as batch_op:
        batch_op.drop_index("ix_classifier_episodes_person")
        batch_op.drop_index(batch_op.f("ix_classifier_episodes_match_key"))
        batch_op.drop_index(batch_op.f("ix_classifier_episodes_escalate_at"))
        batch_op.drop_index("ix_classifier_episodes_child")

    op.drop_table("classifier_episodes")
    with op.batch_alter_table("classifier_children", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_children_review_at"))
        for column in ("last_reported_at", "episodes_in_window", "family_name", "responsible_la"):
            batch_op.drop_index(f"ix_classifier_children_list_{column}")

    op.drop_table("classifier_children")
