"""outbox: a partial index of the rows still to publish, which is all the relay's poll reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["service", "id"],
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
