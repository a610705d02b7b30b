"""greenhack provision against the fake GitLab: plan, apply, idempotence, Developer members, webhook secret."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.errors import ConfigError
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.provisioning import (
    check_ci_project,
    hook_url_warnings,
    project_slug,
    provision,
    read_teams_csv,
    team_warnings,
)
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


def organisers_project(fake: FakeGitLab, full_path: str) -> None:
    """The organisers' CI project as the README sets it up: ci-templates/ pushed to a project of their own."""
    group, _, path = full_path.rpartition("/")
    project = fake.create_project(path, namespace_id=fake.find_or_create_group(group)["id"])
    fake.add_file(project["id"], "pipeline.yml", (ROOT / "ci-templates" / "examples" / "pipeline.yml").read_text())
    fake.add_file(
        project["id"], "templates/submission.yml", (ROOT / "ci-templates" / "templates" / "submission.yml").read_text()
    )


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
    organisers_project(fake_gitlab, "organisers-ci/greenhack")
    code, out = _run(
        event_file, teams_csv, fake_gitlab, monkeypatch, "--dry-run", "--format", "json",
        "--ci-config-path", "pipeline.yml@organisers-ci/greenhack",
    )
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
    organisers_project(fake_gitlab, "green-ai-hack-2026/organisers")
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
    organisers_project(fake_gitlab, "green-ai-hack-2026/organisers")
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


# --- issue 18: a dry run without secrets, warnings before anything changes, the CI project, a summary -----------


def test_dry_run_needs_no_secret_nor_token(
    event_file: Path, teams_csv: Path, monkeypatch: pytest.MonkeyPatch, fake_gitlab: FakeGitLab
) -> None:
    monkeypatch.delenv("GREENHACK_GITLAB_TOKEN", raising=False)
    monkeypatch.delenv("GREENHACK_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(
        app, ["provision", "--config", str(event_file), "--teams", str(teams_csv), "--hook-url", HOOK, "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"would create_project +green-ai-hack-2026/blue-whales", result.output)
    assert f"GitLab at {fake_gitlab.url} not read (no token in $GREENHACK_GITLAB_TOKEN)" in result.output
    assert fake_gitlab.requests == []  # GitLab was not asked anything
    assert result.output.rstrip().splitlines()[-1] == (
        "dry run: 2 teams, 3 members in green-ai-hack-2026: would make 10 changes; 1 warning, 0 problems"
    )


def test_without_secret_a_real_run_is_refused(
    event_file: Path, teams_csv: Path, monkeypatch: pytest.MonkeyPatch, fake_gitlab: FakeGitLab
) -> None:
    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", fake_gitlab.token)
    monkeypatch.delenv("GREENHACK_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(app, ["provision", "--config", str(event_file), "--teams", str(teams_csv)])
    assert result.exit_code == 2 and "GREENHACK_WEBHOOK_SECRET" in result.output


@pytest.mark.parametrize(
    ("url", "warning"),
    [
        ("http://localhost:8000/api/v1/hooks/gitlab", "is on localhost"),
        ("http://127.0.0.1:8000/api/v1/hooks/gitlab", "is a loopback address"),
        ("http://[::1]:8000/api/v1/hooks/gitlab", "is a loopback address"),
        ("https://10.2.3.4/api/v1/hooks/gitlab", "is a private address"),
        ("https://192.168.1.20/api/v1/hooks/gitlab", "is a private address"),
        ("https://board.example.org/api/v1/hooks/gitlab", None),
        ("https://93.184.216.34/api/v1/hooks/gitlab", None),
    ],
)
def test_webhook_addresses_gitlab_cannot_reach(url: str, warning: str | None) -> None:
    found = hook_url_warnings(url)
    assert (found == []) if warning is None else (len(found) == 1 and warning in found[0])


def test_users_in_two_teams_and_names_that_lose_characters(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    path.write_text("team,username\nLes Éclairs!,alice\nBlue Whales,Alice\nBlue Whales,bob\n", encoding="utf-8")
    specs = read_teams_csv(path)
    assert [t.slug for t in specs] == ["les-clairs", "blue-whales"]
    assert team_warnings(specs) == [
        "team 'Les Éclairs!' gets the project path 'les-clairs': 'É' (latin capital letter e with acute), "
        "'!' (exclamation mark) cannot appear in a GitLab path",
        "user 'alice' is in 2 teams: 'Les Éclairs!', 'Blue Whales'",
    ]


def test_the_organisers_ci_project_must_exist_and_hold_the_component(fake_gitlab: FakeGitLab) -> None:
    gateway = GitLabGateway(make_gitlab_client(fake_gitlab.url, fake_gitlab.token))
    path = "pipeline.yml@grp/organisers"
    assert check_ci_project(gateway, path) == [
        "the organisers' CI project 'grp/organisers' (from 'pipeline.yml@grp/organisers') does not exist: create "
        "it and push ci-templates/ to it"
    ]
    project = fake_gitlab.create_project("organisers", namespace_id=fake_gitlab.find_or_create_group("grp")["id"])
    fake_gitlab.add_file(project["id"], "pipeline.yml", "include: []\n")
    (problem,) = check_ci_project(gateway, path)
    assert "holds no greenhack CI component at 'main'" in problem and "templates/submission.yml" in problem
    fake_gitlab.add_file(project["id"], "templates/submission.yml", "spec: {}\n---\n")
    assert check_ci_project(gateway, path) == []
    assert check_ci_project(gateway, "pipeline.yml@grp/organisers:v2")[0] == (
        "the organisers' CI project 'grp/organisers' has no 'pipeline.yml' at 'v2'"
    )
    assert "each team's own project" in check_ci_project(gateway, ".gitlab-ci.yml")[0]


def test_problems_and_warnings_are_printed_before_the_summary(
    event_file: Path, teams_csv: Path, fake_gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in ("alice", "bob", "carol"):
        fake_gitlab.add_user(user)
    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", fake_gitlab.token)
    result = CliRunner().invoke(
        app,
        ["provision", "--config", str(event_file), "--teams", str(teams_csv), "--dry-run",
         "--hook-url", "http://localhost:8000/api/v1/hooks/gitlab"],
    )
    assert result.exit_code == 1
    assert "warning: the webhook URL http://localhost:8000/api/v1/hooks/gitlab is on localhost" in result.output
    assert "problem: the organisers' CI project 'green-ai-hack-2026/organisers'" in result.output
    assert result.output.rstrip().splitlines()[-1].endswith("1 warning, 1 problem")


def test_connection_errors_name_the_gitlab_url(
    event_file: Path, teams_csv: Path, monkeypatch: pytest.MonkeyPatch, fake_gitlab: FakeGitLab
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    event_file.write_text(event_file.read_text().replace(fake_gitlab.url, dead))
    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", "glpat-x")
    monkeypatch.setenv("GREENHACK_WEBHOOK_SECRET", "s")
    result = CliRunner().invoke(app, ["provision", "--config", str(event_file), "--teams", str(teams_csv)])
    assert result.exit_code == 3
    assert f"GitLab at {dead} did not answer" in result.output


def test_provision_shows_one_pipeline_for_every_server_behind_one_tag(
    tmp_path: Path, teams_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # examples/two-servers.yaml: two GPU servers behind the one tag every team pipeline names (issue 16)
    text = (ROOT / "examples" / "two-servers.yaml").read_text(encoding="utf-8")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    (tmp_path / "event.yaml").write_text(text, encoding="utf-8")
    monkeypatch.delenv("GREENHACK_GITLAB_TOKEN", raising=False)
    result = CliRunner().invoke(
        app, ["provision", "--config", str(tmp_path / "event.yaml"), "--teams", str(teams_csv), "--hook-url", HOOK,
              "--dry-run"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "pipeline: every team project runs pipeline.yml@green-ai-hack-2026/organisers, one pipeline for all 2 "
        "measured server(s) (tag green-ai-gpu: gpu-1, gpu-2); each job is charged to the server whose runner ran it"
    ) in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("dry run: 2 teams")
