"""kafka_clusters: the broker cluster each service's relay last published to

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "kafka_clusters",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("cluster_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_kafka_clusters")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("kafka_clusters")
