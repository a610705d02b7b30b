"""Baselines: a team row may be the organisers' baseline (``baselines:`` in the YAML), flagged when its project's
first job is taken in; its submissions are measured and scored like a team's, listed with a badge and never
ranked (see ``greenhack.competition.baselines`` and ``docs/design-phases-tracks-baselines.md``).

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the teams stored before it are teams (false); batch mode: SQLite rewrites the table
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("baseline", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("baseline")
