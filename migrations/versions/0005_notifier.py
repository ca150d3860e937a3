"""notifier tables (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (the notifier tables change here)."""
    op.create_table(
        "notifier_delivery_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_delivery_log")),
    )
    with op.batch_alter_table("notifier_delivery_log", schema=None) as batch_op:
        batch_op.create_index("ix_notifier_delivery_log_delivery", ["delivery_id", "id"], unique=False)

    op.create_table(
        "notifier_episodes",
        sa.Column("episode_id", sa.String(length=64), nullable=False),
        sa.Column("returned_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_notifier_episodes")),
    )
    op.create_table(
        "notifier_held_notices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("episode_id", sa.String(length=64), nullable=True),
        sa.Column("child_id", sa.String(length=64), nullable=True),
        sa.Column("local_authority", sa.String(length=9), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("release_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_held_notices")),
        sa.UniqueConstraint("recipient_id", "event_id", name=op.f("uq_notifier_held_notices_recipient_id_event_id")),
    )
    with op.batch_alter_table("notifier_held_notices", schema=None) as batch_op:
        batch_op.create_index("ix_notifier_held_notices_due", ["status", "release_at"], unique=False)
        batch_op.create_index("ix_notifier_held_notices_episode", ["episode_id"], unique=False)

    # Existing rows are ordinary, never-replayed deliveries: the defaults say so.
    with op.batch_alter_table("notifier_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("episode_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("child_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("local_authority", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("statutory", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("parent_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("dead_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replays", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_notifier_deliveries_log", ["local_authority", "created_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("notifier_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notifier_deliveries_log")
        batch_op.drop_column("replays")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("statutory")
        batch_op.drop_column("local_authority")
        batch_op.drop_column("child_id")
        batch_op.drop_column("episode_id")

    with op.batch_alter_table("notifier_held_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notifier_held_notices_episode")
        batch_op.drop_index("ix_notifier_held_notices_due")

    op.drop_table("notifier_held_notices")
    op.drop_table("notifier_episodes")
    with op.batch_alter_table("notifier_delivery_log", schema=None) as batch_op:
        batch_op.drop_index("ix_notifier_delivery_log_delivery")

    op.drop_table("notifier_delivery_log")
