"""greenhack admin <verb>: the admin actions from a terminal, against a running board's API.

The board's address comes from ``--url`` (or ``GREENHACK_PUBLIC_URL``, as the board itself reads it), the token
from ``--token`` (or ``GREENHACK_ADMIN_TOKEN``; both also from an ``.env`` file, like every setting). Every verb
is one request to ``/api/v1/admin`` (the same routes as ``curl`` and the admin page's forms), and prints what the
board answered (``--json``: its JSON as it came).

- ``freeze`` / ``unfreeze`` / ``freeze-auto``: freeze the public board now, unfreeze it, follow the YAML again;
- ``exclude ID --reason TEXT`` / ``include ID``: take a submission off the boards (the reason shows on its page)
  and back;
- ``rerun ID``: evaluate a submission again from scratch;
- ``select ID`` / ``unselect ID``: select a submission for its phase's final board (``per_team: selected``), on
  the team's request, while its phase is open;
- ``rescore [--wait] [--wait-timeout 10m]``: queue a rescore (a worker runs it) and, with ``--wait``, follow its
  progress to the end, or give up after the timeout (exit 3, saying whether a worker took it and how far it got);
- ``task ID``: an admin task's status, progress and result;
- ``status``: which board visitors see, the freeze, the close and the queue.

Errors say what to do: a board that does not answer is named with its URL (exit 3), a refused token says so
(exit 2), anything else the board refuses is printed with its reason (exit 1).

**Adding a verb** (``remeasure`` lives in a module of its own): write ``register_admin(group: typer.Typer)`` in
that module, adding its commands to ``group``; each takes ``ctx: typer.Context`` and calls
``admin_api(ctx).post("/submissions/{id}/remeasure")`` (or ``.get``), then ``report(ctx, answer)``; and name the
module in :data:`ADMIN_VERB_MODULES`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer

from greenhack.cli._common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_UNAVAILABLE, fail, print_json
from greenhack.config import parse_duration
from greenhack.settings import Settings
from greenhack.web.error_pages import validation_text

__all__ = [
    "ADMIN_PREFIX",
    "ADMIN_VERB_MODULES",
    "AdminApi",
    "SubmissionArg",
    "admin_api",
    "admin_app",
    "exclude_cmd",
    "freeze_auto_cmd",
    "freeze_cmd",
    "include_cmd",
    "register",
    "report",
    "rerun_cmd",
    "rescore_cmd",
    "select_cmd",
    "status_cmd",
    "task_cmd",
    "unfreeze_cmd",
    "unselect_cmd",
]

ADMIN_PREFIX = "/api/v1/admin"
# modules that add verbs of their own to `greenhack admin` through register_admin(group), in --help order
ADMIN_VERB_MODULES: list[str] = ["greenhack.cli.remeasure_cmd"]



@dataclass(frozen=True)
class AdminApi:
    """The board's admin API at ``url`` with ``token``; every failure ends the command with a clear message."""

    url: str
    token: str
    as_json: bool = False
    timeout_s: float = 30.0

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        address = self.url.rstrip("/") + path
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                answer = client.request(
                    method,
                    address,
                    json=body,
                    headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                )
        except httpx.ConnectError as exc:
            fail(
                f"cannot reach the board at {self.url}: {_why(exc)} (is `greenhack serve` running there? "
                "pass --url or set GREENHACK_PUBLIC_URL)",
                EXIT_UNAVAILABLE,
            )
        except httpx.TimeoutException:
            fail(f"the board at {self.url} did not answer within {self.timeout_s:g} s", EXIT_UNAVAILABLE)
        except httpx.HTTPError as exc:
            fail(f"cannot talk to the board at {self.url}: {exc}", EXIT_UNAVAILABLE)
        if answer.status_code == 401:
            fail(
                f"the board at {self.url} refused the admin token (HTTP 401): check --token or "
                "GREENHACK_ADMIN_TOKEN (the board must have GREENHACK_ADMIN_TOKEN set too)",
                EXIT_BAD_INPUT,
            )
        data = _json(answer)
        if not answer.is_success:
            fail(f"the board refused {method} {path} (HTTP {answer.status_code}): {_detail(data, answer)}", EXIT_FAILED)
        if not isinstance(data, dict):
            fail(
                f"the board at {self.url} answered {method} {path} with something that is not greenhack's JSON "
                f"(HTTP {answer.status_code}): is that the board's address?",
                EXIT_FAILED,
            )
        return data

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``POST`` an admin route (``path`` under ``/api/v1/admin``, e.g. ``/freeze``)."""
        return self._send("POST", ADMIN_PREFIX + path, body)

    def get(self, path: str) -> dict[str, Any]:
        """``GET`` a route of the board (``path`` from the root, e.g. ``/api/v1/version``)."""
        return self._send("GET", path)


def _why(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "no such host"
    return str(exc) or "no connection"


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _detail(data: Any, answer: httpx.Response) -> str:
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, list):
        return validation_text(detail)
    if detail:
        return str(detail)
    return answer.text[:200] or answer.reason_phrase


def admin_api(ctx: typer.Context) -> AdminApi:
    """The board's admin API, as ``greenhack admin``'s options set it up (for verbs of other modules too)."""
    api = ctx.find_object(AdminApi)
    if api is None:  # a verb run outside the admin group
        raise RuntimeError("admin_api() needs the context of a `greenhack admin` verb")
    return api


def report(ctx: typer.Context, answer: dict[str, Any]) -> None:
    """Print the board's answer: its message (or the whole JSON with ``--json``)."""
    if admin_api(ctx).as_json:
        print_json(answer)
        return
    typer.echo(str(answer.get("message") or answer))


def _connect(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option("--url", help="The board's address (default: GREENHACK_PUBLIC_URL, http://127.0.0.1:8000).",
                     show_default=False),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="The admin token (default: GREENHACK_ADMIN_TOKEN).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the board's JSON answers as they come.")] = False,
    timeout_s: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer.")] = 30.0,
) -> None:
    """Connect to the board: URL and token from the options, else from the settings (environment, .env)."""
    settings = Settings()
    chosen_token = token or (settings.admin_token.get_secret_value() if settings.admin_token else "")
    if not chosen_token:
        fail("no admin token: pass --token or set GREENHACK_ADMIN_TOKEN", EXIT_BAD_INPUT)
    chosen_url = url or settings.public_url
    if not chosen_url.startswith(("http://", "https://")):
        fail(f"--url {chosen_url!r} must be an http:// or https:// address", EXIT_BAD_INPUT)
    ctx.obj = AdminApi(url=chosen_url, token=chosen_token, as_json=as_json, timeout_s=timeout_s)


SubmissionArg = Annotated[int, typer.Argument(min=1, help="The submission's number (as on its page).")]


def freeze_cmd(ctx: typer.Context) -> None:
    """Freeze the public board now (admins keep the live board)."""
    report(ctx, admin_api(ctx).post("/freeze"))


def unfreeze_cmd(ctx: typer.Context) -> None:
    """Show the live board to everyone again, whatever the YAML's freeze time."""
    report(ctx, admin_api(ctx).post("/unfreeze"))


def freeze_auto_cmd(ctx: typer.Context) -> None:
    """Drop a manual freeze or unfreeze: follow the YAML's event.freeze again."""
    report(ctx, admin_api(ctx).post("/freeze/auto"))


def exclude_cmd(
    ctx: typer.Context,
    submission_id: SubmissionArg,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (shown on the submission's page).")],
) -> None:
    """Exclude a submission from every board, with a reason."""
    report(ctx, admin_api(ctx).post(f"/submissions/{submission_id}/exclude", {"reason": reason}))


def include_cmd(ctx: typer.Context, submission_id: SubmissionArg) -> None:
    """Undo an exclusion."""
    report(ctx, admin_api(ctx).post(f"/submissions/{submission_id}/include"))


def rerun_cmd(ctx: typer.Context, submission_id: SubmissionArg) -> None:
    """Queue a submission's evaluation again from scratch."""
    report(ctx, admin_api(ctx).post(f"/submissions/{submission_id}/rerun"))


def select_cmd(ctx: typer.Context, submission_id: SubmissionArg) -> None:
    """Select a submission for its phase's final board (per_team: selected), while its phase is open."""
    report(ctx, admin_api(ctx).post(f"/submissions/{submission_id}/select"))


def unselect_cmd(ctx: typer.Context, submission_id: SubmissionArg) -> None:
    """Drop a submission's selection, while its phase is open."""
    report(ctx, admin_api(ctx).post(f"/submissions/{submission_id}/unselect"))


def _task_line(task: dict[str, Any]) -> str:
    total = task.get("total")
    progress = f"{task['done']} of {total}" if total is not None else f"{task['done']}"
    line = f"{task['kind']} task {task['id']}: {task['status']}, {progress} done"
    if task.get("error"):
        line += f"; error: {task['error']}"
    return line


def _follow(
    api: AdminApi, task_id: int, *, poll_s: float, timeout_s: float, echo: Callable[[str], None]
) -> dict[str, Any] | None:
    """The task once a worker finished it, or None when it is still queued or running after ``timeout_s``."""
    last = ""
    give_up_at = time.monotonic() + timeout_s
    while True:
        task = api.get(f"{ADMIN_PREFIX}/tasks/{task_id}")
        line = _task_line(task)
        if line != last:
            echo(line)
            last = line
        if task["status"] in ("done", "failed"):
            return task
        if time.monotonic() >= give_up_at:
            return None
        time.sleep(min(poll_s, max(give_up_at - time.monotonic(), 0.0)))


def _gave_up(task: dict[str, Any], waited: str) -> str:
    """Why ``--wait`` stopped: nobody took the task, or how far the worker that took it got."""
    name = f"{task['kind']} task {task['id']}"
    if task["status"] == "queued" and not task.get("attempts"):
        return f"no worker picked {name} up in {waited}; is `greenhack worker` running?"
    total = task.get("total")
    progress = f"{task['done']} of {total} done" if total is not None else f"{task['done']} done"
    where = f"{progress}, attempt {task.get('attempts') or 1}"
    if task.get("error"):
        where += f"; last error: {task['error']}"
    follow = f"follow it with `greenhack admin task {task['id']}`"
    return f"{name} is still {task['status']} after {waited} ({where}); {follow}"


def rescore_cmd(
    ctx: typer.Context,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the task until a worker finishes it.")] = False,
    poll_s: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between progress checks.")] = 1.0,
    wait_timeout: Annotated[
        str, typer.Option("--wait-timeout", help="How long --wait follows the task before it gives up (exit 3).")
    ] = "10m",
) -> None:
    """Queue a rescore: a worker recomputes every impact from the stored measurements and re-ranks the boards."""
    try:
        timeout_s = parse_duration(wait_timeout).total_seconds()
    except ValueError as exc:
        fail(f"--wait-timeout {wait_timeout!r}: {exc}", EXIT_BAD_INPUT)
    api = admin_api(ctx)
    accepted = api.post("/rescore")
    task = accepted["task"]
    if not wait:
        if api.as_json:
            print_json(accepted)
        else:
            typer.echo(f"{_task_line(task)}; follow it with `greenhack admin task {task['id']}`")
        return
    echo = (lambda _line: None) if api.as_json else typer.echo
    final = _follow(api, int(task["id"]), poll_s=poll_s, timeout_s=timeout_s, echo=echo)
    if final is None:
        fail(_gave_up(api.get(f"{ADMIN_PREFIX}/tasks/{task['id']}"), wait_timeout), EXIT_UNAVAILABLE)
    if api.as_json:
        print_json(final)
    if final["status"] == "failed":
        raise typer.Exit(EXIT_FAILED)


def task_cmd(ctx: typer.Context, task_id: Annotated[int, typer.Argument(min=1, help="The task's number.")]) -> None:
    """An admin task's status, progress and result."""
    api = admin_api(ctx)
    task = api.get(f"{ADMIN_PREFIX}/tasks/{task_id}")
    if api.as_json:
        print_json(task)
        return
    typer.echo(_task_line(task))
    if task.get("result") is not None:
        print_json(task["result"])


def status_cmd(ctx: typer.Context) -> None:
    """Which board visitors see, the freeze and the close, and the evaluation queue."""
    api = admin_api(ctx)
    version, event = api.get("/api/v1/version"), api.get("/api/v1/event")
    if api.as_json:
        print_json({"version": version, "event": event})
        return
    state = "closed" if version["closed"] else ("frozen" if version["frozen"] else "live")
    typer.echo(f"board: {state} (data version {version['data_version']})")
    typer.echo(f"freeze: {event['freeze'] or 'none'}; closes: {event['closes']}")
    totals = event["totals"]
    typer.echo(f"queue: {event['queue_length']} waiting; {totals['submissions']} submissions of {totals['teams']} teams")


# the verbs of this module, in --help order
_VERBS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("freeze", freeze_cmd),
    ("unfreeze", unfreeze_cmd),
    ("freeze-auto", freeze_auto_cmd),
    ("exclude", exclude_cmd),
    ("include", include_cmd),
    ("rerun", rerun_cmd),
    ("select", select_cmd),
    ("unselect", unselect_cmd),
    ("rescore", rescore_cmd),
    ("task", task_cmd),
    ("status", status_cmd),
)


def admin_app() -> typer.Typer:
    """The ``admin`` group: this module's verbs, then those of :data:`ADMIN_VERB_MODULES`."""
    group = typer.Typer(
        name="admin",
        help="Admin actions against a running board: freeze, exclude, rerun, rescore, ... (URL and token from "
        "--url/--token or GREENHACK_PUBLIC_URL/GREENHACK_ADMIN_TOKEN).",
        no_args_is_help=True,
    )
    group.callback()(_connect)
    for name, verb in _VERBS:
        group.command(name)(verb)
    for module in ADMIN_VERB_MODULES:
        importlib.import_module(module).register_admin(group)
    return group


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app(), name="admin")
