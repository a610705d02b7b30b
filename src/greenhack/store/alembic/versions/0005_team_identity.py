"""A team is its GitLab project: ``teams.gitlab_path`` keeps the project's full path as GitLab's API last named it,
so that a renamed project renames its team (``teams.name``, the path below the event's group) and a project
recreated at a taken path is told apart by its id.

Teams stored before this revision were named after their project's last path segment; their path is unknown here
(the migration does not ask GitLab), so it stays NULL and the first reconciler pass or evaluation that asks
GitLab's API renames them to the path below the group.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): batch mode would rebuild the
# teams table on SQLite, and dropping the old one cascades to every submission (foreign keys are on)


def upgrade() -> None:
    op.add_column("teams", sa.Column("gitlab_path", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("teams", "gitlab_path")
