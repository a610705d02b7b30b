"""Migration 0003 backfills ``submissions.reason_code`` from the stored reasons, on SQLite and PostgreSQL, so that
disclosure by code shows a visitor exactly what the former prefix matching showed for every existing row."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.status import Reason
from greenhack.store.db import create_db_engine, current_revision, downgrade_database, upgrade_database
from greenhack.store.disclosure import public_reason

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# (status, reason as written by the platform before revision 0003, the code the backfill must give)
ROWS: list[tuple[str, str | None, str | None]] = [
    ("invalid", "the job failed (script_failure); see its log in GitLab", "job_failed"),
    ("invalid", "the job was canceled", "job_not_successful"),
    ("invalid", "the job kept no predictions.csv artifact", "no_predictions"),
    ("invalid", "label 'zebra' never seen in the truth", "unclassified"),
    ("invalid", "28 problems in predictions.csv", "unclassified"),
    ("invalid", "predictions.csv is larger than 5 MB (6000000 bytes)", "unclassified"),
    ("invalid", "refused before running: the daily limit of 3 is reached", "refused_before_running"),
    (
        "failed",
        "the job failed on the platform's side (runner_system_failure); it does not count toward the limit",
        "platform_job_failure",
    ),
    ("failed", "gave up after 8 attempts: PrometheusUnavailable: connection refused", "gave_up"),
    ("needs_review", "telemetry: a 40 s gap in the GPU exporter's samples", "telemetry"),
    ("needs_review", "its window on gpu-1 overlaps job 7's: neither energy can be trusted", "overlap"),
    ("needs_review", "telemetry: a gap; its window on gpu-1 overlaps job(s) 7: neither", "telemetry"),
    ("needs_review", "idle baseline: no samples in the calibration period", "idle_baseline"),
    ("needs_review", "impacts: BoaviztAPI 2.5.0 does not know the CPU 'x'", "impacts"),
    ("needs_review", "GitLabError: 403 Forbidden on project team-secret/solution", "unclassified"),
    ("needs_review", "job 5 ran with tags [], none of which sends jobs to a measured server", "unclassified"),
    ("needs_review", "Telemetry: upper case was never public", "unclassified"),
    ("needs_review", "the job was canceled", "unclassified"),  # "the job " was public for invalid only
    ("scored", "training phase of pipeline 3: measured; ranked together with its predict job", "train_phase"),
    ("scored", None, None),
    ("queued", None, None),
]


def prefix_disclosure(status: str, reason: str | None) -> str | None:
    """What a visitor read before revision 0003 (greenhack.store.disclosure matched the reason's first words)."""
    public = {"invalid": ("the job ",), "needs_review": ("telemetry: ", "its window on ")}
    private = {
        "invalid": "the predictions were rejected; the team's GitLab commit comment lists the problems",
        "needs_review": "an organiser reviews this job",
        "failed": "the platform could not evaluate this job after its retries; the organisers see why",
    }
    if reason is None:
        return None
    if reason.startswith(public.get(status, ())):
        return reason
    return private.get(status, "see the organisers")


def _seed_at_0002(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                "VALUES (1, 'E', 0, 0, :t)"
            ),
            {"t": T0},
        )
        conn.execute(
            sa.text("INSERT INTO teams (id, event_id, name, created_at) VALUES (1, 1, 'T', :t)"), {"t": T0}
        )
        for job, (status, reason, _) in enumerate(ROWS, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO submissions (event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                    "reason, next_attempt_at, created_at) VALUES (1, 1, 1, :job, :status, :reason, :t, :t)"
                ),
                {"job": job, "status": status, "reason": reason, "t": T0},
            )


def test_the_backfill_keeps_what_every_stored_reason_disclosed(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0002") == "0002"
    engine = create_db_engine(fresh_url)
    try:
        _seed_at_0002(engine)
        assert upgrade_database(fresh_url, revision="0003") == "0003"
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text(
                    "SELECT gitlab_job_id, status, reason, reason_code FROM submissions ORDER BY gitlab_job_id"
                )
            ).all()
        assert [(r.status, r.reason, r.reason_code) for r in stored] == ROWS
        for row in stored:
            reason = Reason.stored(code=row.reason_code, text=row.reason)
            assert public_reason(row.status, reason) == prefix_disclosure(row.status, row.reason), row.reason

        downgrade_database(fresh_url, revision="0002")
        assert current_revision(engine) == "0002"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("submissions")}
        assert "reason_code" not in columns and "reason" in columns
        with engine.connect() as conn:  # the reasons themselves survive the way down
            assert conn.execute(sa.text("SELECT count(reason) FROM submissions")).scalar_one() == 19
    finally:
        engine.dispose()
