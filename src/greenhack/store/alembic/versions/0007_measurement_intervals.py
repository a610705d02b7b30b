"""Measurement intervals: the parts of each energy figure's interval (integration, window edges, sensor) and its
ends, each impact's measurement interval apart from BoaviztAPI's factor range, each performance's bootstrap
replicates, a re-measurement's link to the submission it measures again, and on each board row its intervals and
whether its rank is shared (``ranking.ties: significant``), and the submission an admin task is about (a
re-measure's).

Rows stored before this revision have no interval (every new column is empty): the board shows them without one
and the ranking keeps their order against each other.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEASUREMENT_COLUMNS = (
    ("energy_confidence", sa.Float()),
    ("energy_integration_j", sa.Float()),
    ("energy_edges_j", sa.Float()),
    ("energy_sensor_j", sa.Float()),
    ("energy_low_j", sa.Float()),
    ("energy_high_j", sa.Float()),
)
_SUBMISSION_COLUMNS = (
    ("energy_low_j", sa.Float()),
    ("energy_high_j", sa.Float()),
    ("impact_measurement_low", sa.Float()),
    ("impact_measurement_high", sa.Float()),
)
_IMPACT_COLUMNS = (("measurement_low", sa.Float()), ("measurement_high", sa.Float()))
_PERFORMANCE_COLUMNS = (("replicates", sa.LargeBinary()),)
_SCORE_COLUMNS = (
    ("measurements", sa.Integer()),
    ("energy_j", sa.Float()),
    ("energy_low_j", sa.Float()),
    ("energy_high_j", sa.Float()),
    ("impact", sa.Float()),
    ("impact_low", sa.Float()),
    ("impact_high", sa.Float()),
    ("performance_low", sa.Float()),
    ("performance_high", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        for name, kind in _MEASUREMENT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("submissions") as batch:
        for name, kind in _SUBMISSION_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("submissions") as batch:  # SQLite copies the table (see env.py: no cascade)
        batch.add_column(sa.Column("remeasure_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_submissions_remeasure_of_submissions"), "submissions", ["remeasure_of"], ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_submissions_remeasure_of"), ["remeasure_of"])
    with op.batch_alter_table("impacts") as batch:
        for name, kind in _IMPACT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("performances") as batch:
        for name, kind in _PERFORMANCE_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("scores") as batch:
        for name, kind in _SCORE_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(sa.Column("tied", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("admin_tasks") as batch:
        batch.add_column(sa.Column("submission_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_admin_tasks_submission_id_submissions"), "submissions", ["submission_id"], ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_tasks") as batch:
        batch.drop_constraint(op.f("fk_admin_tasks_submission_id_submissions"), type_="foreignkey")
        batch.drop_column("submission_id")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("tied")
        for name, _ in reversed(_SCORE_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("performances") as batch:
        for name, _ in reversed(_PERFORMANCE_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("impacts") as batch:
        for name, _ in reversed(_IMPACT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index(op.f("ix_submissions_remeasure_of"))
        batch.drop_constraint(op.f("fk_submissions_remeasure_of_submissions"), type_="foreignkey")
        batch.drop_column("remeasure_of")
        for name, _ in reversed(_SUBMISSION_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("measurements") as batch:
        for name, _ in reversed(_MEASUREMENT_COLUMNS):
            batch.drop_column(name)
