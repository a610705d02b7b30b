"""``greenhack provision``: the event's GitLab side, from a teams CSV, idempotently.

For each team: one private project in the event group, its members as **Developer** (never Maintainer, so they
cannot change the CI configuration path, the runners or the variables), the project's CI configuration path set
to the organisers' pipeline file, pipeline variables closed to everyone, and one webhook (job and pipeline
events) carrying the secret. Running it again changes nothing; ``dry_run`` lists what it would do.

The teams CSV has a header ``team,username`` and one row per member (a team without members: an empty
username). GitLab never returns a webhook's secret, so an existing hook with the right URL and events is left as
it is unless ``rotate_secret`` is asked.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from greenhack.errors import ConfigError, ConfigProblem
from greenhack.gitlab.models import GroupInfo, HookInfo, ProjectInfo, UserInfo

__all__ = [
    "DEVELOPER",
    "Action",
    "ProvisionReport",
    "ProvisioningGitLab",
    "TeamSpec",
    "project_slug",
    "provision",
    "read_teams_csv",
]

DEVELOPER = 30
_MAINTAINER = 40
_PIPELINE_VARIABLES_ROLE = "no_one_allowed"
_SLUG = re.compile(r"[^a-z0-9_.-]+")


class ProvisioningGitLab(Protocol):
    """The gateway calls provisioning makes (:class:`~greenhack.gitlab.gateway.GitLabGateway`)."""

    def find_group(self, full_path: str) -> GroupInfo | None: ...

    def create_group(self, *, name: str, path: str, parent_id: int | None) -> GroupInfo: ...

    def find_project(self, full_path: str) -> ProjectInfo | None: ...

    def create_project(self, *, name: str, path: str, namespace_id: int) -> ProjectInfo: ...

    def update_project(self, project_id: int, changes: dict[str, str]) -> None: ...

    def find_user(self, username: str) -> UserInfo | None: ...

    def project_members(self, project_id: int) -> dict[int, int]: ...

    def add_member(self, project_id: int, user_id: int, access_level: int) -> None: ...

    def set_member_level(self, project_id: int, user_id: int, access_level: int) -> None: ...

    def project_hooks(self, project_id: int) -> list[HookInfo]: ...

    def create_hook(self, project_id: int, settings: dict[str, str | bool]) -> None: ...

    def update_hook(self, project_id: int, hook_id: int, settings: dict[str, str | bool]) -> None: ...


@dataclass(frozen=True)
class TeamSpec:
    """One team of the CSV: its display name, project path segment, and members' GitLab usernames."""

    name: str
    slug: str
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    """One change provisioning made (or, in a dry run, would make)."""

    kind: Literal[
        "create_group",
        "create_project",
        "update_project",
        "add_member",
        "set_member",
        "create_hook",
        "update_hook",
    ]
    target: str
    detail: str


@dataclass(frozen=True)
class ProvisionReport:
    """What a run did: the actions (empty when everything was in place), and problems that need an admin
    (e.g. usernames GitLab does not know)."""

    dry_run: bool
    actions: tuple[Action, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.actions)


def project_slug(team: str) -> str:
    """A team name as a GitLab project path: ``Les Écureuils #2`` → ``les-cureuils-2``."""
    slug = _SLUG.sub("-", team.strip().lower()).strip("-.")
    if not slug:
        raise ValueError(f"team name {team!r} gives an empty project path")
    return slug


def read_teams_csv(path: Path) -> list[TeamSpec]:
    """Read ``team,username`` rows; every problem is reported with its line.

    Raises:
        ConfigError: the file is missing, has no ``team`` column, an empty team, or two teams with one path.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "team" not in fields:
        raise ConfigError(
            [ConfigProblem(str(path), 1, "", "the header must name a 'team' column (team,username)")]
        )
    problems: list[ConfigProblem] = []
    members: dict[str, list[str]] = {}
    slugs: dict[str, str] = {}
    for row in reader:
        line = reader.line_num
        values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        team = values.get("team", "")
        if not team:
            problems.append(ConfigProblem(str(path), line, "team", "empty team name"))
            continue
        try:
            slug = project_slug(team)
        except ValueError as exc:
            problems.append(ConfigProblem(str(path), line, "team", str(exc)))
            continue
        if slugs.setdefault(slug, team) != team:
            problems.append(
                ConfigProblem(
                    str(path),
                    line,
                    "team",
                    f"{team!r} and {slugs[slug]!r} would share the project path {slug!r}",
                )
            )
            continue
        names = members.setdefault(team, [])
        username = values.get("username", "").lstrip("@")
        if username and username not in names:
            names.append(username)
    if problems:
        raise ConfigError(problems)
    return [TeamSpec(name, project_slug(name), tuple(users)) for name, users in members.items()]


def _ensure_group(
    gitlab: ProvisioningGitLab, full_path: str, actions: list[Action], dry_run: bool
) -> GroupInfo | None:
    found = gitlab.find_group(full_path)
    if found is not None:
        return found
    parent_path, _, path = full_path.rpartition("/")
    parent = _ensure_group(gitlab, parent_path, actions, dry_run) if parent_path else None
    actions.append(Action("create_group", full_path, "private group"))
    if dry_run or (parent_path and parent is None):
        return None
    return gitlab.create_group(name=path, path=path, parent_id=parent.id if parent else None)


def provision(
    gitlab: ProvisioningGitLab,
    *,
    group: str,
    teams: Sequence[TeamSpec],
    ci_config_path: str,
    hook_url: str,
    webhook_secret: str,
    dry_run: bool = False,
    rotate_secret: bool = False,
) -> ProvisionReport:
    """Bring the event's GitLab group to the wanted state; return what changed.

    Raises:
        GitLabError: GitLab refused a change (GitLabUnavailable when it did not answer).
    """
    if not webhook_secret:
        raise ValueError("the webhook secret is empty")
    actions: list[Action] = []
    problems: list[str] = []
    group_info = _ensure_group(gitlab, group, actions, dry_run)
    users: dict[str, UserInfo | None] = {}
    hook_settings: dict[str, str | bool] = {
        "url": hook_url,
        "token": webhook_secret,
        "job_events": True,
        "pipeline_events": True,
        "push_events": False,
        "enable_ssl_verification": hook_url.startswith("https://"),
    }
    for team in teams:
        full_path = f"{group}/{team.slug}"
        project = gitlab.find_project(full_path) if group_info is not None else None
        if project is None:
            actions.append(Action("create_project", full_path, f"private project of team {team.name!r}"))
            if not dry_run and group_info is not None:
                project = gitlab.create_project(name=team.name, path=team.slug, namespace_id=group_info.id)

        # settings: the CI configuration is the organisers'; nobody passes pipeline variables
        changes: dict[str, str] = {}
        if project is None or project.ci_config_path != ci_config_path:
            changes["ci_config_path"] = ci_config_path
        if project is None or (project.pipeline_variables_role not in (None, _PIPELINE_VARIABLES_ROLE)):
            changes["ci_pipeline_variables_minimum_override_role"] = _PIPELINE_VARIABLES_ROLE
        if changes:
            actions.append(
                Action("update_project", full_path, ", ".join(f"{k}={v}" for k, v in changes.items()))
            )
            if project is not None and not dry_run:
                gitlab.update_project(project.id, changes)

        # members as Developer
        current = gitlab.project_members(project.id) if project is not None else {}
        for username in team.usernames:
            if username not in users:
                users[username] = gitlab.find_user(username)
            user = users[username]
            if user is None:
                problems.append(f"team {team.name!r}: GitLab has no user {username!r}")
                continue
            level = current.get(user.id)
            if level is None:
                actions.append(Action("add_member", full_path, f"{username} as Developer"))
                if project is not None and not dry_run:
                    gitlab.add_member(project.id, user.id, DEVELOPER)
            elif level != DEVELOPER:
                actions.append(
                    Action("set_member", full_path, f"{username}: access level {level} → Developer")
                )
                if project is not None and not dry_run:
                    gitlab.set_member_level(project.id, user.id, DEVELOPER)

        # one webhook with the secret
        hooks = (
            [h for h in gitlab.project_hooks(project.id) if h.url == hook_url] if project is not None else []
        )
        if not hooks:
            actions.append(
                Action("create_hook", full_path, f"{hook_url} (job and pipeline events, secret token)")
            )
            if project is not None and not dry_run:
                gitlab.create_hook(project.id, hook_settings)
        else:
            hook = hooks[0]
            wrong = not (hook.job_events and hook.pipeline_events) or hook.push_events
            if wrong or rotate_secret:
                why = "events" if wrong else "secret rotated"
                actions.append(Action("update_hook", full_path, f"{hook_url} ({why})"))
                if not dry_run:
                    gitlab.update_hook(project.id if project else 0, hook.id, hook_settings)
    return ProvisionReport(dry_run, tuple(actions), tuple(problems))
