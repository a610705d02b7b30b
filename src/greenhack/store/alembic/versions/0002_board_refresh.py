"""Coalesced board refreshes: ``events.boards_pending`` counts results stored since the boards were last ranked,
``events.boards_refreshed_at`` says when they were (see ``greenhack.store.boards.refresh_if_stale``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("boards_pending", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("boards_refreshed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("boards_refreshed_at")
        batch.drop_column("boards_pending")
