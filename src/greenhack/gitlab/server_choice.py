"""Which measured server ran a job: the one whose GitLab runner GitLab says took it. Pure.

One runner tag may serve every measured server: GitLab then spreads the jobs over their runners, and the job's
``runner`` (id and description, from ``GET /projects/:id/jobs/:job_id`` with the platform's token) names the server.
Servers list their runners in the event YAML (``servers[].runners``: ids or descriptions); check-config refuses a
runner listed on two servers. A tag naming exactly one server still picks it, as before, when that server lists no
runners. A project runner is never the event's (a team's Maintainer could register one with the event's tag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from greenhack.config import RunnerRef, ServerConfig
from greenhack.errors import JobNotMeasurable
from greenhack.gitlab.models import CiJob, RunnerInfo

__all__ = ["ChoiceCode", "ServerChoice", "choose_server", "lists_runner"]

ChoiceCode = Literal[
    "by_runner",
    "by_tag",
    "no_runner",
    "project_runner",
    "runner_on_several_servers",
    "runner_on_no_server",
    "runner_not_on_tagged_server",
    "tags_of_several_servers",
    "no_measured_tag",
]
"""How the server was found (``by_runner``, ``by_tag``) or why none was."""


@dataclass(frozen=True)
class ServerChoice:
    """The server a job ran on, or why it cannot be told.

    Attributes:
        server: the measured server, None when it cannot be told.
        code: how it was found, or why not (:data:`ChoiceCode`).
        reason: a sentence for the organisers (and the team) when there is no server.
    """

    server: ServerConfig | None
    code: ChoiceCode
    reason: str | None = None

    def require(self) -> ServerConfig:
        """The server, or :class:`~greenhack.errors.JobNotMeasurable` with the reason."""
        if self.server is None:
            raise JobNotMeasurable(self.reason or self.code)
        return self.server


def lists_runner(server: ServerConfig, runner: RunnerInfo) -> bool:
    """Whether the server's ``runners`` name this runner, by id (a number) or by description (text)."""
    return any(_names(ref, runner) for ref in server.runners)


def _names(ref: RunnerRef, runner: RunnerInfo) -> bool:
    if isinstance(ref, int):
        return ref == runner.id
    return ref == runner.description


def _runner_text(runner: RunnerInfo) -> str:
    return f"runner #{runner.id} ({runner.description!r})" if runner.description else f"runner #{runner.id}"


def choose_server(job: CiJob, servers: Sequence[ServerConfig]) -> ServerChoice:
    """The measured server that ran ``job``.

    Args:
        job: the job as GitLab's API describes it with the platform's token (its ``runner`` and ``tag_list``).
        servers: the event's servers.

    Returns:
        The choice; ``server`` is None with a reason when GitLab names no runner, a project runner, a runner on
        no server (or on several), or tags that name no server (or several that do not list their runners).
    """
    runner = job.runner
    if runner is None:
        return ServerChoice(None, "no_runner", f"job {job.id}: GitLab names no runner for it")
    if runner.runner_type == "project_type":
        return ServerChoice(
            None,
            "project_runner",
            f"job {job.id} ran on project {_runner_text(runner)}, not on a runner of the event's servers",
        )
    by_runner = [s for s in servers if lists_runner(s, runner)]
    if len(by_runner) == 1:
        return ServerChoice(by_runner[0], "by_runner")
    if len(by_runner) > 1:
        names = ", ".join(s.name for s in by_runner)
        return ServerChoice(
            None,
            "runner_on_several_servers",
            f"job {job.id} ran on {_runner_text(runner)}, which servers {names} all list (one by id, one by "
            "description?); a runner runs on one server",
        )
    tags = set(job.tag_list)
    tagged = [s for s in servers if tags & set(s.runner_tags)]
    if not tagged:
        known = ", ".join(sorted({t for s in servers for t in s.runner_tags}))
        listing = [s.name for s in servers if s.runners]
        extra = f" and {_runner_text(runner)} is on no server's runners list" if listing else ""
        return ServerChoice(
            None,
            "no_measured_tag",
            f"job {job.id} ran with tags {sorted(tags)}, none of which sends jobs to a measured server "
            f"({known}){extra}",
        )
    if all(s.runners for s in tagged):
        names = ", ".join(s.name for s in tagged)
        code: ChoiceCode = "runner_on_no_server" if len(tagged) > 1 else "runner_not_on_tagged_server"
        return ServerChoice(
            None,
            code,
            f"job {job.id} ran on {_runner_text(runner)}, which no server lists among its runners (servers with its "
            f"tags: {names}): a runner the event does not know ran it, so its energy cannot be told",
        )
    if len(tagged) > 1:
        names = ", ".join(s.name for s in tagged)
        return ServerChoice(
            None,
            "tags_of_several_servers",
            f"job {job.id} has tags of several servers ({names}); it cannot be attributed: list each server's "
            "runners (servers[].runners)",
        )
    return ServerChoice(tagged[0], "by_tag")
