"""``task.predictions`` reaches GitLab's artifact URL quoted. ``GET /projects/:id/jobs/:job_id/artifacts/*artifact_path``
takes the "path to a file inside the artifacts archive" with its ``/`` kept (api/job_artifacts.md, whose example is
``.../jobs/5/artifacts/some/release/file.pdf``); ``#``, ``?`` and ``%`` in it must be percent-encoded (RFC 3986) or
they cut or change the URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.testing.fake_gitlab import FakeGitLab


@pytest.mark.parametrize("path", ["predictions.csv", "out/preds #2?.csv", "out/100%.csv", "résultats/prédictions.csv"])
def test_an_artifact_path_is_quoted_into_the_url(path: str) -> None:
    with FakeGitLab() as fake:
        group = fake.create_group("grp")
        project = fake.create_project("team", namespace_id=group["id"])
        start = datetime(2026, 3, 1, 10, tzinfo=UTC)
        job = fake.run_job(
            project["id"],
            started_at=start,
            finished_at=start + timedelta(seconds=30),
            runner_id=None,
            artifacts={path: b"id,label\n1,a\n", "out/preds ": b"not this one"},
        )
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token, timeout_s=5.0))
        assert gateway.download_artifact(project["id"], job["id"], path, max_bytes=1000) == b"id,label\n1,a\n"
