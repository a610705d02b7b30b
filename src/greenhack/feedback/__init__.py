"""Feedback where teams work: results back to GitLab, budget checks and live energy for running jobs.

- :mod:`~greenhack.feedback.gitlab_report`: commit status and one editable comment per submission.
- :mod:`~greenhack.feedback.notifier`: the worker's reporting, retried, never failing an evaluation.
- :mod:`~greenhack.feedback.job_auth`: a job's ``CI_JOB_TOKEN`` checked with GitLab's ``GET /api/v4/job``.
- :mod:`~greenhack.feedback.router`: ``GET /api/v1/jobs/self/energy`` and ``POST /api/v1/jobs/self/budget-check``.

Submodules are imported where used (the routes pull in the web stack). The train/predict phases and the
projected deployment footprint are scoring's (:mod:`greenhack.scoring.pipeline_stages`; the store reads them:
:mod:`greenhack.store.pipeline_stages`).
"""

from __future__ import annotations

__all__: list[str] = []
