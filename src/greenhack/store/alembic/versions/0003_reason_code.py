"""A stable code for each submission's reason: ``submissions.reason_code`` (``greenhack.status.ReasonCode``), by
which the web pages decide what a visitor may read (before, they matched the reason's first words).

Existing rows are backfilled from those first words, per status, so that every row discloses exactly what it did:
a reason that was public keeps a public code, every other reason gets a private one (``unclassified`` where its
wording names no known reason). The table of prefixes is this migration's own: the application's codes may grow,
what was stored before this revision does not change.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (status or None for any, prefix of the reason, code), first match wins. The public ones are exactly those the
# disclosure showed before this revision: invalid + "the job ", needs_review + "telemetry: " / "its window on ".
BACKFILL: tuple[tuple[str | None, str, str], ...] = (
    ("invalid", "the job kept no ", "no_predictions"),
    ("invalid", "the job failed (", "job_failed"),
    ("invalid", "the job ", "job_not_successful"),
    ("needs_review", "telemetry: ", "telemetry"),
    ("needs_review", "its window on ", "overlap"),
    (None, "the job failed on the platform's side", "platform_job_failure"),
    (None, "gave up after ", "gave_up"),
    (None, "idle baseline: ", "idle_baseline"),
    (None, "impacts: ", "impacts"),
    (None, "training phase of pipeline ", "train_phase"),
    (None, "refused before running", "refused_before_running"),
)
UNCLASSIFIED = "unclassified"

_submissions = sa.table(
    "submissions",
    sa.column("status", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("reason_code", sa.String()),
)


def backfill_code() -> sa.Case[str]:
    """The code of a stored reason, as one SQL expression (``substr`` compares case-sensitively on both
    databases, where ``LIKE`` would not on SQLite)."""
    reason, status = _submissions.c.reason, _submissions.c.status
    whens = []
    for when_status, prefix, code in BACKFILL:
        match = sa.func.substr(reason, 1, len(prefix)) == prefix
        whens.append((match if when_status is None else sa.and_(status == when_status, match), code))
    return sa.case(*whens, else_=UNCLASSIFIED)


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(length=40), nullable=True))
    op.execute(
        _submissions.update().where(_submissions.c.reason.is_not(None)).values(reason_code=backfill_code())
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("reason_code")
