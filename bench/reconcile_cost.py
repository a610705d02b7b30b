"""What one reconciler pass costs in GitLab requests and time: per-pipeline listing (before) vs one paginated job
listing per project (now), on the fake GitLab (a real HTTP server with GitLab's pagination).

Run: ``.venv/bin/python bench/reconcile_cost.py [--projects 20] [--pipelines 45] [--repeat 3]``.
Each project gets ``--pipelines`` recent pipelines of two jobs (lint + submission), plus 150 older finished
jobs past the look-back. Both ways see the same submissions; printed: requests per pass, median wall time,
submission jobs found. The "before" column replays the former algorithm (``GET .../pipelines?updated_after``,
then ``GET .../pipelines/:id/jobs`` per pipeline) through the same gateway; "now" is ``reconcile()`` itself,
database writes included (SQLite, so it is the slower side of the comparison there).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from greenhack.config import EventConfig, load_event
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.webhooks import EVALUATED_STATUSES
from greenhack.intake import submission_job_names
from greenhack.reconciler import reconcile
from greenhack.store.db import create_db_engine, make_session_factory, upgrade_database
from greenhack.testing.fake_gitlab import FakeGitLab

__all__ = ["main"]

GROUP = "bench-hack"
LOOKBACK = timedelta(seconds=180)


def _event(folder: Path, gitlab_url: str) -> EventConfig:
    (folder / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    path = folder / "event.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            event: {{name: Reconcile bench, opens: 2026-01-01T09:00:00+01:00, closes: 2030-12-31T17:00:00+01:00}}
            task: {{predictions: predictions.csv, truth: truth.csv, public_fraction: 0.5}}
            performance: {{metric: accuracy}}
            impact: {{criterion: gwp, pue: 1.2, location: FRA}}
            ranking: {{method: weighted, weights: {{performance: 0.5, impact: 0.5}}}}
            limits: {{job_timeout: 5m, submissions_per_day: 1000}}
            telemetry: {{prometheus: http://127.0.0.1:9}}
            boavizta: {{url: http://127.0.0.1:9}}
            servers:
              - name: gpu-1
                runner_tags: [gpu-1]
                scaphandre: '{{instance="gpu-1:8080"}}'
                hardware: {{cpu: {{name: Intel Xeon Gold 6248, units: 2}}, ram_gb: 192}}
            gitlab: {{url: {gitlab_url}, group: {GROUP}}}
            """
        ),
        encoding="utf-8",
    )
    return load_event(path)


def _seed(fake: FakeGitLab, projects: int, pipelines: int, now: datetime) -> None:
    group = fake.find_or_create_group(GROUP)
    runner = fake.runner_id("gpu-1 runner", tags=["gpu-1"])
    for p in range(projects):
        project = fake.create_project(f"team-{p:02d}", namespace_id=group["id"])
        for k in range(150):  # history older than the look-back
            t = now - timedelta(hours=3) + timedelta(seconds=k)
            fake.run_job(project["id"], started_at=t, finished_at=t + timedelta(seconds=1), runner_id=runner)
        for k in range(pipelines):
            end = now - LOOKBACK + timedelta(seconds=(k + 1) * 170 / pipelines)
            lint = fake.run_job(
                project["id"],
                name="lint",
                started_at=end - timedelta(seconds=9),
                finished_at=end,
                runner_id=runner,
            )
            fake.run_job(
                project["id"], started_at=end - timedelta(seconds=8), finished_at=end, runner_id=runner,
                tags=["gpu-1"], pipeline_id=lint["pipeline"]["id"],
            )  # fmt: skip
        # the fake marks every pipeline updated "now"; give them their real times so updated_after filters
        for pipeline in fake._state.pipelines.values():
            if pipeline["project_id"] == project["id"]:
                jobs = [j for j in fake._state.jobs.values() if j["pipeline"]["id"] == pipeline["id"]]
                pipeline["updated_at"] = max(j["finished_at"] for j in jobs)


def _before(gateway: GitLabGateway, config: EventConfig, now: datetime) -> int:
    """The former pass's GitLab side: pipelines updated in the look-back, then each pipeline's jobs."""
    assert config.gitlab is not None
    names = submission_job_names(config)
    found = 0
    for project in gateway.group_projects(config.gitlab.group):
        for pipeline in gateway.pipelines_updated_after(project.id, now - LOOKBACK):
            found += sum(
                1
                for job in gateway.pipeline_jobs(project.id, pipeline.id)
                if job.name in names and job.status in EVALUATED_STATUSES
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--pipelines", type=int, default=45, help="recent pipelines per project")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with FakeGitLab() as fake, tempfile.TemporaryDirectory() as tmp:
        _seed(fake, args.projects, args.pipelines, now)
        config = _event(Path(tmp), fake.url)
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_database(url)
        engine = create_db_engine(url)
        sessions = make_session_factory(engine)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        rows: dict[str, tuple[list[int], list[float], int]] = {"before": ([], [], 0), "now": ([], [], 0)}
        for _ in range(args.repeat):
            for way in ("before", "now"):
                fake.requests.clear()
                t0 = time.perf_counter()
                if way == "before":
                    found = _before(gateway, config, now)
                else:
                    found = reconcile(
                        config=config, gitlab=gateway, sessions=sessions, now=now, lookback=LOOKBACK
                    ).jobs_seen
                elapsed = time.perf_counter() - t0
                requests, times, _ = rows[way]
                requests.append(len(fake.requests))
                times.append(elapsed)
                rows[way] = (requests, times, found)
        engine.dispose()
    print(
        f"reconcile pass: {args.projects} projects x {args.pipelines} recent pipelines (2 jobs each) "
        f"+ 150 older jobs per project, look-back {LOOKBACK.total_seconds():g} s, fake GitLab over HTTP"
    )
    print(f"{'way':<8} {'requests/pass':>14} {'median s':>9} {'submissions found':>18}")
    for way, (requests, times, found) in rows.items():
        print(f"{way:<8} {statistics.median(requests):>14g} {statistics.median(times):>9.2f} {found:>18}")
    before, after = statistics.median(rows["before"][0]), statistics.median(rows["now"][0])
    print(f"ratio    {before / after:>14.1f}x fewer requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
