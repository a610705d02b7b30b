"""greenhack provision against the fake GitLab: plan, apply, idempotence, Developer members, webhook secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.errors import ConfigError
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.provisioning import project_slug, provision, read_teams_csv
from greenhack.testing.fake_gitlab import FakeGitLab

ROOT = Path(__file__).resolve().parents[2]
HOOK = "https://board.example.org/api/v1/hooks/gitlab"


@pytest.fixture
def event_file(tmp_path: Path, fake_gitlab: FakeGitLab) -> Path:
    text = (ROOT / "examples" / "event.yaml").read_text(encoding="utf-8")
    text = text.replace("url: https://gitlab.example.org", f"url: {fake_gitlab.url}")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def teams_csv(tmp_path: Path) -> Path:
    path = tmp_path / "teams.csv"
    path.write_text(
        "team,username\nBlue Whales,alice\nBlue Whales,bob\nRed Pandas,carol\nRed Pandas,\n", encoding="utf-8"
    )
    return path


def _run(
    event_file: Path, teams_csv: Path, fake: FakeGitLab, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", fake.token)
    monkeypatch.setenv("GREENHACK_WEBHOOK_SECRET", "hook-secret")
    result = CliRunner().invoke(
        app, ["provision", "--config", str(event_file), "--teams", str(teams_csv), "--hook-url", HOOK, *args]
    )
    return result.exit_code, result.output


def test_dry_run_plans_everything_and_changes_nothing(
    event_file: Path, teams_csv: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in ("alice", "bob", "carol"):
        fake_gitlab.add_user(user)
    code, out = _run(event_file, teams_csv, fake_gitlab, monkeypatch, "--dry-run", "--format", "json")
    assert code == 0, out
    plan = json.loads(out)
    kinds = [(a["kind"], a["target"]) for a in plan["actions"]]
    assert kinds[0] == ("create_group", "green-ai-hack-2026")
    assert ("create_project", "green-ai-hack-2026/blue-whales") in kinds
    assert ("create_hook", "green-ai-hack-2026/red-pandas") in kinds
    assert sum(k == "add_member" for k, _ in kinds) == 3
    assert not any(m == "POST" or m == "PUT" for m, _ in fake_gitlab.requests)


def test_provision_creates_the_event_and_a_second_run_changes_nothing(
    event_file: Path, teams_csv: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {name: fake_gitlab.add_user(name) for name in ("alice", "bob", "carol")}
    code, out = _run(event_file, teams_csv, fake_gitlab, monkeypatch)
    assert code == 0, out
    project = fake_gitlab.project_json("green-ai-hack-2026/blue-whales")
    assert project["ci_config_path"] == "pipeline.yml@green-ai-hack-2026/organisers"
    assert project["ci_pipeline_variables_minimum_override_role"] == "no_one_allowed"
    assert project["visibility"] == "private"
    assert fake_gitlab.members_of(project["id"]) == {users["alice"]: 30, users["bob"]: 30}
    (hook,) = fake_gitlab.hooks_of(project["id"])
    assert (hook["url"], hook["token"], hook["job_events"], hook["pipeline_events"], hook["push_events"]) == (
        HOOK,
        "hook-secret",
        True,
        True,
        False,
    )

    writes = len([r for r in fake_gitlab.requests if r[0] in ("POST", "PUT")])
    code, out = _run(event_file, teams_csv, fake_gitlab, monkeypatch)
    assert code == 0, out
    assert "nothing to do: 2 team(s) already provisioned" in out
    assert len([r for r in fake_gitlab.requests if r[0] in ("POST", "PUT")]) == writes


def test_a_maintainer_is_brought_back_to_developer_and_unknown_users_are_reported(
    event_file: Path, teams_csv: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = fake_gitlab.add_user("alice")
    fake_gitlab.add_user("carol")
    code, out = _run(event_file, teams_csv, fake_gitlab, monkeypatch)
    assert code == 1
    assert "GitLab has no user 'bob'" in out
    project = fake_gitlab.project_json("green-ai-hack-2026/blue-whales")
    gateway = GitLabGateway(make_gitlab_client(fake_gitlab.url, fake_gitlab.token))
    gateway.set_member_level(project["id"], alice, 40)
    report = provision(
        gateway,
        group="green-ai-hack-2026",
        teams=read_teams_csv(teams_csv)[:1],
        ci_config_path="pipeline.yml@green-ai-hack-2026/organisers",
        hook_url=HOOK,
        webhook_secret="hook-secret",
    )
    assert [(a.kind, a.detail) for a in report.actions] == [
        ("set_member", "alice: access level 40 → Developer")
    ]
    assert fake_gitlab.members_of(project["id"])[alice] == 30


def test_rotating_the_secret_updates_existing_hooks(fake_gitlab: FakeGitLab, teams_csv: Path) -> None:
    gateway = GitLabGateway(make_gitlab_client(fake_gitlab.url, fake_gitlab.token))
    teams = read_teams_csv(teams_csv)
    common = {
        "group": "grp/event",
        "teams": teams,
        "ci_config_path": "pipeline.yml@grp/event/organisers",
        "hook_url": HOOK,
    }
    provision(gateway, webhook_secret="old", **common)  # type: ignore[arg-type]
    report = provision(gateway, webhook_secret="new", rotate_secret=True, **common)  # type: ignore[arg-type]
    assert [a.kind for a in report.actions] == ["update_hook", "update_hook"]
    project = fake_gitlab.project_json("grp/event/red-pandas")
    assert fake_gitlab.hooks_of(project["id"])[0]["token"] == "new"


def test_teams_csv_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    path.write_text("team,username\n,alice\nA b,x\na-b,y\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_teams_csv(path)
    assert [(p.line, p.path) for p in info.value.problems] == [(2, "team"), (4, "team")]
    assert "share the project path 'a-b'" in str(info.value)
    assert project_slug("Les Écureuils #2") == "les-cureuils-2"
