"""Helpers of the feedback tests: the GitLab world (fake GitLab with the event's group, a team project, the measured
runner) and the event YAML tying the services together."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from greenhack.config import EventConfig, load_event
from greenhack.testing.fake_gitlab import FakeGitLab

GROUP = "green-ai-hack-2026"
TAG = "green-ai-gpu-1"


@dataclass
class World:
    """The fake GitLab with the event's group, team-a's project and the measured runner."""

    fake: FakeGitLab
    project_id: int
    project_path: str
    runner_id: int

    def running_job(self, *, name: str = "submission", project_id: int | None = None, tags: tuple[str, ...] = (TAG,),
                    runner_id: int | None = None, started_at: datetime | None = None,
                    pipeline_id: int | None = None, sha: str = "2293ada6b400935a1378653304eaf6221e0fdb8f",
                    ) -> tuple[dict[str, Any], str]:  # fmt: skip
        """A job the runner is running now, and its CI_JOB_TOKEN."""
        job = self.fake.run_job(
            project_id or self.project_id,
            name=name,
            status="running",
            started_at=started_at or datetime.now(UTC) - timedelta(seconds=5),
            finished_at=None,
            runner_id=runner_id or self.runner_id,
            tags=tags,
            pipeline_id=pipeline_id,
            sha=sha,
        )
        return job, self.fake.issue_job_token(int(job["id"]))


def write_event(
    folder: Path,
    *,
    gitlab_url: str,
    prometheus_url: str = "http://127.0.0.1:9",
    boavizta_url: str = "http://127.0.0.1:9",
    scaphandre: str = '{instance="gpu-1:8080"}',
    gpu: str = '{instance="gpu-1:9835"}',
    scrape_s: float = 5.0,
    budget_g: float | None = 50.0,
    per_day: int = 3,
    opens: str = "2026-01-01T09:00:00+01:00",
    closes: str = "2030-12-31T17:00:00+01:00",
    submission_jobs: tuple[str, ...] = ("submission",),
    extra_impact: str = "",
    extra_limits: str = "",
    extra_sections: str = "",
) -> EventConfig:
    """An event YAML tying the services together; returns it loaded (``extra_limits``: more lines of the limits
    section, indented as its first; ``extra_sections``: top-level sections appended as they are)."""
    (folder / "truth.csv").write_text("id,label\n1,big\n2,small\n3,big\n4,small\n", encoding="utf-8")
    budget = f"\n              carbon_budget_g: {budget_g:g}" if budget_g is not None else ""
    jobs = ", ".join(submission_jobs)
    path = folder / "event.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            event:
              name: Feedback test
              opens: {opens}
              closes: {closes}
            task:
              predictions: predictions.csv
              truth: truth.csv
              public_fraction: 0.5
            performance:
              metric: accuracy
            impact:
              criterion: gwp
              pue: 1.2
              location: FRA{extra_impact}
            ranking:
              method: weighted
              weights: {{performance: 0.5, impact: 0.5}}
            limits:
              submissions_per_day: {per_day}{budget}{extra_limits}
            telemetry:
              prometheus: {prometheus_url}
              scrape_interval: {scrape_s:g}s
            boavizta:
              url: {boavizta_url}
            servers:
              - name: gpu-1
                runner_tags: [{TAG}]
                scaphandre: '{scaphandre}'
                gpu: '{gpu}'
                gpu_exporter: nvidia_smi
                hardware:
                  cpu: {{name: Intel Xeon Gold 6248, units: 2}}
                  ram_gb: 192
                  gpu: {{name: NVIDIA A100 80GB, units: 1}}
            gitlab:
              url: {gitlab_url}
              group: {GROUP}
              submission_jobs: [{jobs}]
            """
        )
        + extra_sections,
        encoding="utf-8",
    )
    return load_event(path)
