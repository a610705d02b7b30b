"""greenhack provision refuses a team whose project would be one of the event's baselines (issue 19), located at
the team's line of the teams CSV, before GitLab is asked to change anything (the fake GitLab at its HTTP API)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.config import load_event
from greenhack.gitlab.provisioning import baseline_clashes, read_teams_csv
from greenhack.testing.fake_gitlab import FakeGitLab

ROOT = Path(__file__).resolve().parents[2]
HOOK = "https://board.example.org/api/v1/hooks/gitlab"
BASELINES = """
baselines:
  - {project: baselines/logreg, name: Logistic regression}
  - {project: green-ai-hack-2026/red-pandas}
"""


@pytest.fixture
def event_file(tmp_path: Path, fake_gitlab: FakeGitLab) -> Path:
    text = (ROOT / "examples" / "event.yaml").read_text(encoding="utf-8")
    text = text.replace("url: https://gitlab.example.org", f"url: {fake_gitlab.url}") + BASELINES
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_team_that_is_a_baseline_is_a_located_problem_and_nothing_changes(
    tmp_path: Path, event_file: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    teams = tmp_path / "teams.csv"
    teams.write_text("team,username\nBlue Whales,alice\nLogReg,dave\nRed Pandas,carol\nRed Pandas,erin\n",
                     encoding="utf-8")  # fmt: skip
    config = load_event(event_file)
    (problem,) = baseline_clashes(config, read_teams_csv(teams), source=teams)
    assert str(problem) == (
        f"{teams}:4: team: 'Red Pandas': team project 'red-pandas' is also baselines[1] ('red-pandas'): a baseline "
        "is never ranked, so a team's project must not be one"
    )

    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", fake_gitlab.token)
    monkeypatch.setenv("GREENHACK_WEBHOOK_SECRET", "hook-secret")
    result = CliRunner().invoke(
        app, ["provision", "--config", str(event_file), "--teams", str(teams), "--hook-url", HOOK]
    )
    assert result.exit_code == 2, result.output
    assert str(problem) in result.output
    assert fake_gitlab.requests == []  # refused before GitLab was asked anything

    # without the clash the same teams are provisioned (LogReg is not baselines/logreg: another path)
    teams.write_text("team,username\nBlue Whales,alice\nLogReg,dave\n", encoding="utf-8")
    assert baseline_clashes(config, read_teams_csv(teams), source=teams) == []
    monkeypatch.delenv("GREENHACK_GITLAB_TOKEN")  # a dry run that plans without reading GitLab
    dry = CliRunner().invoke(
        app, ["provision", "--config", str(event_file), "--teams", str(teams), "--hook-url", HOOK, "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "green-ai-hack-2026/logreg" in dry.output
