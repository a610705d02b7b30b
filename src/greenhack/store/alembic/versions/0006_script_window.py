"""The window measured and the server's clock: the script window read from the job log (its bounds, their source
and resolution, why GitLab's window stood in for them), the server's clock offset against Prometheus's (its bound,
NTP health) and the runner's overhead (the energy of GitLab's window outside the script window, not charged).

``submissions.window_start``/``window_end`` keep GitLab's window (what the overlap rule compares); rows stored before
this revision measured exactly that window, so they get ``window_kind = 'job'``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSON on both databases, JSONB on PostgreSQL
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_SUBMISSION_COLUMNS = (
    ("window_kind", sa.String(length=10)),
    ("script_start", sa.DateTime(timezone=True)),
    ("script_end", sa.DateTime(timezone=True)),
    ("script_start_source", sa.String(length=20)),
    ("script_end_source", sa.String(length=20)),
    ("script_start_resolution_s", sa.Float()),
    ("script_end_resolution_s", sa.Float()),
    ("window_fallback", sa.String(length=40)),
    ("window_fallback_reason", sa.Text()),
    ("overhead_energy_j", sa.Float()),
)
_MEASUREMENT_COLUMNS = (
    ("clock_offset_s", sa.Float()),
    ("clock_offset_uncertainty_s", sa.Float()),
    ("clock_offset_note", sa.Text()),
    ("ntp_synchronised", sa.Boolean()),
    ("ntp_offset_s", sa.Float()),
    ("overhead_before_j", sa.Float()),
    ("overhead_after_j", sa.Float()),
    ("overhead_duration_s", sa.Float()),
    ("overhead_valid", sa.Boolean()),
    ("overhead_problems", _JSON),
)

_submissions = sa.table(
    "submissions", sa.column("window_start", sa.DateTime()), sa.column("window_kind", sa.String())
)


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for name, kind in _SUBMISSION_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("measurements") as batch:
        for name, kind in _MEASUREMENT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.execute(
        _submissions.update().where(_submissions.c.window_start.is_not(None)).values(window_kind="job")
    )


def downgrade() -> None:
    with op.batch_alter_table("measurements") as batch:
        for name, _ in reversed(_MEASUREMENT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("submissions") as batch:
        for name, _ in reversed(_SUBMISSION_COLUMNS):
            batch.drop_column(name)
