"""greenhack admin remeasure ID: measure a submission again (a worker retries its GitLab job through the API).

The re-measurement uses none of the team's quota; the board ranks the median of the submission's measurements,
their spread widening its interval (see docs/organisers.md, "Re-measure a submission").
"""

from __future__ import annotations

import typer

from greenhack.cli._common import print_json
from greenhack.cli.admin_cmd import SubmissionArg, admin_api

__all__ = ["register_admin", "remeasure_cmd"]


def remeasure_cmd(ctx: typer.Context, submission_id: SubmissionArg) -> None:
    """Queue a re-measure: a worker retries the submission's GitLab job and measures the new job too."""
    api = admin_api(ctx)
    accepted = api.post(f"/submissions/{submission_id}/remeasure")
    if api.as_json:
        print_json(accepted)
        return
    task = accepted["task"]
    typer.echo(
        f"remeasure task {task['id']} of submission {submission_id}: {task['status']}; "
        f"follow it with `greenhack admin task {task['id']}`"
    )


def register_admin(group: typer.Typer) -> None:
    """Add ``remeasure`` to ``greenhack admin``."""
    group.command("remeasure")(remeasure_cmd)
