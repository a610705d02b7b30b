"""``greenhack provision``: the event's GitLab side, from a teams CSV, idempotently.

For each team: one private project in the event group, its members as **Developer** (never Maintainer, so they
cannot change the CI configuration path, the runners or the variables), the project's CI configuration path set
to the organisers' pipeline file, pipeline variables closed to everyone, and one webhook (job and pipeline
events) carrying the secret. Running it again changes nothing; ``dry_run`` lists what it would do, and needs no
secret (nor a GitLab token: :class:`OfflineGitLab` then plans as if nothing existed yet).

Before anything is changed, :func:`preflight` says what would go wrong later: a webhook address GitLab cannot
reach (localhost, a private network), a user in two teams, team names that lose characters in their project path
(``Les Éclairs!`` → ``les-clairs``), and an organisers' CI project that is missing or does not hold the pipeline
file and the CI component the team projects' CI configuration path points to. A team whose project would be one
of the event's baselines (``baselines:``, never ranked) is refused before anything changes, located at its line
of the teams CSV (:func:`baseline_clashes`).

The teams CSV has a header ``team,username`` and one row per member (a team without members: an empty
username). GitLab never returns a webhook's secret, so an existing hook with the right URL and events is left as
it is unless ``rotate_secret`` is asked.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

from greenhack.competition.baselines import team_clashes
from greenhack.config import EventConfig, ServerConfig
from greenhack.errors import ConfigError, ConfigProblem
from greenhack.gitlab.models import GroupInfo, HookInfo, ProjectInfo, UserInfo

__all__ = [
    "COMPONENTS",
    "DEVELOPER",
    "Action",
    "CiConfigPath",
    "OfflineGitLab",
    "ProvisionReport",
    "ProvisioningGitLab",
    "TeamSpec",
    "baseline_clashes",
    "check_ci_project",
    "hook_url_warnings",
    "parse_ci_config_path",
    "pipeline_line",
    "preflight",
    "project_slug",
    "provision",
    "read_teams_csv",
    "team_warnings",
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

    def file_exists(self, project: int | str, file_path: str, *, ref: str) -> bool: ...


@dataclass(frozen=True)
class TeamSpec:
    """One team of the CSV: its display name, project path segment, members' GitLab usernames, and the line of its
    first row (None when not read from a file)."""

    name: str
    slug: str
    usernames: tuple[str, ...]
    line: int | None = None


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
    warnings: tuple[str, ...] = field(default=())
    teams: int = 0
    members: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def summary(self, group: str) -> str:
        """One line: what was (or would be) done, and what needs an admin."""
        n = len(self.actions)
        done = (
            f"would make {n} change{'s' if n != 1 else ''}"
            if self.dry_run
            else f"made {n} change{'s' if n != 1 else ''}"
        )
        return (
            f"{'dry run: ' if self.dry_run else ''}{self.teams} team{'s' if self.teams != 1 else ''}, "
            f"{self.members} member{'s' if self.members != 1 else ''} in {group}: {done}; "
            f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}, "
            f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        )


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
    first_line: dict[str, int] = {}
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
        first_line.setdefault(team, line)
        username = values.get("username", "").lstrip("@")
        if username and username not in names:
            names.append(username)
    if problems:
        raise ConfigError(problems)
    return [
        TeamSpec(name, project_slug(name), tuple(users), first_line[name]) for name, users in members.items()
    ]


def baseline_clashes(config: EventConfig, teams: Sequence[TeamSpec], *, source: Path) -> list[ConfigProblem]:
    """A located problem (``teams.csv:LINE: team: ...``) for each team whose project would be one of the event's
    baselines (``baselines:``): a baseline is never ranked, so provisioning it as a team's project would take a
    team off the boards (:func:`greenhack.competition.baselines.team_clashes`)."""
    out = []
    for team in teams:
        for message in team_clashes(config, [team.slug]):
            out.append(ConfigProblem(str(source), team.line, "team", f"{team.name!r}: {message}"))
    return out


# --- before anything changes: what would go wrong later ------------------------------------------------------

# the CI components an organisers' project may hold (ci-templates/templates/<name>.yml)
COMPONENTS = ("submission", "train-predict")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def hook_url_warnings(hook_url: str) -> list[str]:
    """Why GitLab might not reach the webhook address: on localhost, or a private or link-local address."""
    host = (urlsplit(hook_url).hostname or "").lower()
    if not host:
        return [f"the webhook URL {hook_url!r} names no host"]
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return [
            f"the webhook URL {hook_url} is on localhost: GitLab calls it from its own machine, where nothing "
            "answers; use the board's public address (GREENHACK_PUBLIC_URL or --hook-url)"
        ]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return []
    if address.is_loopback:
        return [
            f"the webhook URL {hook_url} is a loopback address: GitLab calls it from its own machine, where "
            "nothing answers; use the board's public address (GREENHACK_PUBLIC_URL or --hook-url)"
        ]
    if address.is_private or address.is_link_local:
        return [
            f"the webhook URL {hook_url} is a private address: only a GitLab inside that network reaches it, and "
            "a self-managed GitLab refuses it unless an admin allows requests to the local network from webhooks"
        ]
    return []


def _lost_characters(name: str) -> str:
    kept = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")
    lost = [ch for ch in name.strip() if not ch.isspace() and ch.lower() not in kept]
    return "".join(dict.fromkeys(lost))


def team_warnings(teams: Sequence[TeamSpec]) -> list[str]:
    """Users in more than one team, and team names whose project path loses characters."""
    out = []
    of_user: dict[str, list[str]] = {}
    for team in teams:
        for username in team.usernames:
            of_user.setdefault(username.lower(), []).append(team.name)
        lost = _lost_characters(team.name)
        if lost:
            shown = ", ".join(f"{ch!r} ({unicodedata.name(ch, 'U+%04X' % ord(ch)).lower()})" for ch in lost)
            out.append(
                f"team {team.name!r} gets the project path {team.slug!r}: {shown} cannot appear in a GitLab path"
            )
    for username, names in of_user.items():
        if len(names) > 1:
            out.append(f"user {username!r} is in {len(names)} teams: {', '.join(repr(n) for n in names)}")
    return out


@dataclass(frozen=True)
class CiConfigPath:
    """A project's CI configuration path pointing into another project: ``FILE@GROUP/PROJECT[:REF]``."""

    file: str
    project: str
    ref: str | None


def pipeline_line(ci_config_path: str, servers: Sequence[ServerConfig]) -> str:
    """What every team project runs, and the measured servers its runner tag(s) reach: one pipeline for all
    servers (GitLab hands each job to a free runner with the tag; the platform charges the runner's server)."""
    by_tag: dict[str, list[str]] = {}
    for server in servers:
        for tag in server.runner_tags:
            by_tag.setdefault(tag, []).append(server.name)
    reach = "; ".join(f"tag {tag}: {', '.join(names)}" for tag, names in by_tag.items()) or "no runner tag"
    return (
        f"pipeline: every team project runs {ci_config_path}, one pipeline for all {len(servers)} measured "
        f"server(s) ({reach}); each job is charged to the server whose runner ran it"
    )


def parse_ci_config_path(value: str) -> CiConfigPath | None:
    """``pipeline.yml@grp/organisers:main`` as its parts; None for a file of the team's own project."""
    file, at, rest = value.partition("@")
    if not at:
        return None
    project, _, ref = rest.partition(":")
    return CiConfigPath(file=file, project=project, ref=ref or None)


def check_ci_project(
    gitlab: ProvisioningGitLab, ci_config_path: str, *, components: Sequence[str] = COMPONENTS
) -> list[str]:
    """Problems with the organisers' CI project: missing, or without the pipeline file or any CI component."""
    where = parse_ci_config_path(ci_config_path)
    if where is None:
        return [
            f"the CI configuration path {ci_config_path!r} is a file of each team's own project, which its team "
            "can edit: point it at the organisers' project (FILE@GROUP/PROJECT)"
        ]
    project = gitlab.find_project(where.project)
    if project is None:
        return [
            f"the organisers' CI project {where.project!r} (from {ci_config_path!r}) does not exist: create it and "
            "push ci-templates/ to it"
        ]
    ref = where.ref or project.default_branch or "main"
    problems = []
    if not gitlab.file_exists(project.id, where.file, ref=ref):
        problems.append(f"the organisers' CI project {where.project!r} has no {where.file!r} at {ref!r}")
    candidates = [p for name in components for p in (f"templates/{name}.yml", f"templates/{name}/template.yml")]
    if not any(gitlab.file_exists(project.id, path, ref=ref) for path in candidates):
        problems.append(
            f"the organisers' CI project {where.project!r} holds no greenhack CI component at {ref!r} (looked for "
            f"{', '.join(candidates)}): push ci-templates/templates/ to it"
        )
    return problems


def preflight(
    gitlab: ProvisioningGitLab | None, *, teams: Sequence[TeamSpec], hook_url: str, ci_config_path: str
) -> tuple[list[str], list[str]]:
    """``(warnings, problems)`` found before provisioning; the CI project is checked when GitLab can be read."""
    warnings = hook_url_warnings(hook_url) + team_warnings(teams)
    problems = check_ci_project(gitlab, ci_config_path) if gitlab is not None else []
    return warnings, problems


class OfflineGitLab:
    """GitLab as a dry run without a token sees it: nothing exists yet, every user is taken on trust, and any
    change is refused (a dry run makes none)."""

    def __init__(self) -> None:
        self._users: dict[str, int] = {}

    def find_group(self, full_path: str) -> GroupInfo | None:
        return None

    def find_project(self, full_path: str) -> ProjectInfo | None:
        return None

    def find_user(self, username: str) -> UserInfo | None:
        return UserInfo(id=self._users.setdefault(username.lower(), len(self._users) + 1), username=username)

    def project_members(self, project_id: int) -> dict[int, int]:
        return {}

    def project_hooks(self, project_id: int) -> list[HookInfo]:
        return []

    def file_exists(self, project: int | str, file_path: str, *, ref: str) -> bool:
        return False

    @staticmethod
    def _refuse() -> RuntimeError:
        return RuntimeError("OfflineGitLab makes no change: use it with dry_run=True")

    def create_group(self, *, name: str, path: str, parent_id: int | None) -> GroupInfo:
        raise self._refuse()

    def create_project(self, *, name: str, path: str, namespace_id: int) -> ProjectInfo:
        raise self._refuse()

    def update_project(self, project_id: int, changes: dict[str, str]) -> None:
        raise self._refuse()

    def add_member(self, project_id: int, user_id: int, access_level: int) -> None:
        raise self._refuse()

    def set_member_level(self, project_id: int, user_id: int, access_level: int) -> None:
        raise self._refuse()

    def create_hook(self, project_id: int, settings: dict[str, str | bool]) -> None:
        raise self._refuse()

    def update_hook(self, project_id: int, hook_id: int, settings: dict[str, str | bool]) -> None:
        raise self._refuse()


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
    webhook_secret: str | None,
    dry_run: bool = False,
    rotate_secret: bool = False,
    check_ci: bool = False,
) -> ProvisionReport:
    """Bring the event's GitLab group to the wanted state; return what changed.

    Args:
        webhook_secret: the hooks' secret; a dry run needs none.
        check_ci: also check the organisers' CI project (:func:`check_ci_project`); its problems are reported.

    Raises:
        GitLabError: GitLab refused a change (GitLabUnavailable when it did not answer).
    """
    if not webhook_secret and not dry_run:
        raise ValueError("the webhook secret is empty")
    actions: list[Action] = []
    warnings, problems = preflight(
        gitlab if check_ci else None, teams=teams, hook_url=hook_url, ci_config_path=ci_config_path
    )
    group_info = _ensure_group(gitlab, group, actions, dry_run)
    users: dict[str, UserInfo | None] = {}
    hook_settings: dict[str, str | bool] = {
        "url": hook_url,
        "token": webhook_secret or "",
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
    return ProvisionReport(
        dry_run,
        tuple(actions),
        tuple(problems),
        tuple(warnings),
        teams=len(teams),
        members=len({u.lower() for t in teams for u in t.usernames}),
    )
