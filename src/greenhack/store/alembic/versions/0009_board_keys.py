"""Board keys: a score row names the phase and the hardware track of its board (``greenhack.competition``), so
an event with ``phases:`` or ``servers[].track`` keeps one board per (phase, track, live|frozen|final).

A submission belongs to one phase and one track, so ``(submission_id, board)`` stays the key; rows stored before
read as the implicit phase and track (``''``): the boards of an event without either, as they were. The index
that reads a board in rank order gains the two columns.

``submissions.selected``: the team selected this submission for its phase's final board (``per_team: selected``);
false for every row stored before.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("phase", sa.String(length=40), nullable=False, server_default=""))
        batch.add_column(sa.Column("track", sa.String(length=40), nullable=False, server_default=""))
        batch.drop_index("ix_scores_board")
        batch.create_index("ix_scores_board", ["event_id", "phase", "track", "board", "rank"])
    # a plain ALTER (no batch): SQLite's batch mode would copy the submissions table, and dropping the old copy
    # cascades to every row that references it (scores, measurements)
    op.add_column("submissions", sa.Column("selected", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("submissions", "selected")  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table("scores") as batch:
        batch.drop_index("ix_scores_board")
        batch.create_index("ix_scores_board", ["event_id", "board", "rank"])
        batch.drop_column("track")
        batch.drop_column("phase")
