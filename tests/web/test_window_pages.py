"""What the pages say of the window measured: the submission page (server and hardware, the window charged and why
it fell back, GitLab's window, the clock offset, the runner's overhead), the board's server per row, and the event
totals' overhead apart from the teams' energy; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient
from web_support import DURING

from greenhack.config import EventConfig
from greenhack.gitlab.script_window import ScriptWindow, script_window
from greenhack.impacts import impacts_from_factors
from greenhack.overlap import Window
from greenhack.scoring.models import Performance
from greenhack.status import Status
from greenhack.store import crud, queue
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.outcomes import record_outcome
from greenhack.store.synthetic import synthetic_factors, synthetic_job
from greenhack.telemetry.clock import ClockOffset
from greenhack.telemetry.overhead import RunnerOverhead
from greenhack.testing.runner_log import LogTimes, runner_log

OFFSET_S = 2.0


def _store(sessions: SessionFactory, config: EventConfig, *, job_id: int, log_marks: bool = True) -> int:
    """One evaluated job through the store's write path: GitLab's window 25 s before and 4 s after the command,
    the log's marks 2 s ahead (the server's clock), the offset measured, the overhead measured."""
    start = DURING - timedelta(hours=2) + timedelta(minutes=10 * (job_id % 10))  # no two windows overlap
    energy = synthetic_job(random.Random(job_id), server="gpu-1", start=start).energy
    api_start, api_end = energy.start - timedelta(seconds=25), energy.end + timedelta(seconds=4)
    ahead = timedelta(seconds=OFFSET_S)
    times = LogTimes(started=api_start, command_start=energy.start + ahead, command_end=energy.end + ahead,
                     finished=api_end)  # fmt: skip
    log = runner_log(times, marks=log_marks)
    if not log_marks:
        log = "".join(line + "\n" for line in log.splitlines() if "section_" not in line)
    script: ScriptWindow = script_window(log, api_start=api_start, api_end=api_end)
    clock = ClockOffset(server="gpu-1", known=True, offset_s=OFFSET_S, uncertainty_s=0.003, samples=7,
                        ntp_synchronised=True, ntp_offset_s=0.0004)  # fmt: skip
    overhead = RunnerOverhead(before_energy_j=7000.0, after_energy_j=700.0, before_s=25.0, after_s=4.0, valid=True)
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        team = crud.ensure_team(session=s, event_id=event.id, name=f"team-{job_id}")
        queued = queue.enqueue(session=s, event_id=event.id, team_id=team.id, gitlab_project_id=1,
                               gitlab_job_id=job_id, now=api_start)  # fmt: skip
    with transaction(sessions) as s:
        claimed = queue.claim(session=s, worker="w", lease_s=600, now=api_end)
        assert claimed is not None and claimed.submission_id == queued.submission_id
        record_outcome(
            session=s, submission_id=claimed.submission_id, worker="w", status=Status.SCORED,
            window=Window(server="gpu-1", start=api_start, end=api_end), script=script, energy=energy,
            clock=clock, overhead=overhead, now=api_end,
            impacts=impacts_from_factors(synthetic_factors(config.impact.location, fetched_at=api_start),
                                         config.impact, energy.total_energy_j, energy.duration_s),
            performance=Performance(metric="accuracy", higher_is_better=True, public=0.9, private=0.8,
                                    n_public=30, n_private=70),
        )  # fmt: skip
        refresh_boards(session=s, event_id=event.id, config=config, now=DURING)
    return queued.submission_id


def test_the_submission_page_says_where_what_and_on_which_clock(
    client: TestClient, sessions: SessionFactory, event_config: EventConfig
) -> None:
    sid = _store(sessions, event_config, job_id=71)
    page = client.get(f"/submissions/{sid}").text
    assert "<dt>Server</dt>" in page
    assert "gpu-1: 2 × Intel Xeon Gold 6248, 192 GB RAM, 1 × NVIDIA A100 80GB (its GitLab runner ran the job)" in page
    assert "the team&#39;s command alone (the script window, from the marks in the job log)" in page
    assert "start from the runner&#39;s timestamp of the mark&#39;s log line (1 µs)" in page
    assert "<dt>GitLab&#39;s job window</dt>" in page
    assert "+2000 ms ± 3 ms from Prometheus&#39;s (node_exporter)" in page and "NTP synchronised" in page
    assert "2.14 Wh over 29 s before and after the team&#39;s command" in page
    assert "the team is not charged" in page
    data = client.get(f"/api/v1/submissions/{sid}").json()
    assert data["submission"]["window_kind"] == "script" and data["submission"]["overhead_energy_j"] == 7700.0
    assert data["submission"]["script_start_source"] == "runner_timestamp"
    assert data["measurement"]["clock_offset_s"] == OFFSET_S


def test_a_fallback_says_why_gitlabs_window_was_measured(
    client: TestClient, sessions: SessionFactory, event_config: EventConfig
) -> None:
    sid = _store(sessions, event_config, job_id=72, log_marks=False)
    page = client.get(f"/submissions/{sid}").text
    assert 'class="fallback"' in page
    assert "GitLab&#39;s window for what the log did not give (no_marks): the job log holds neither" in page


def test_the_board_names_each_rows_server_and_the_event_its_overhead(
    client: TestClient, sessions: SessionFactory, event_config: EventConfig
) -> None:
    _store(sessions, event_config, job_id=73)
    _store(sessions, event_config, job_id=74)
    board = client.get("/").text
    # one server: the board does not repeat it on every row (the event page and each submission page name it)
    assert '<small class="server"' not in board
    rows = client.get("/api/v1/leaderboard").json()["rows"]
    assert [r["server"] for r in rows] == ["gpu-1", "gpu-1"]
    totals = client.get("/api/v1/event").json()["totals"]
    assert (totals["overhead_energy_j"], totals["overhead_jobs"]) == (15400.0, 2)
    # the teams' energy is their commands' alone: the overhead is not in it
    assert totals["energy_j"] == sum(r["energy_j"] for r in rows)
    event = client.get("/event").text
    assert "4.28 Wh" in event and "runner overhead of 2 jobs" in event
    assert "not counted in the teams' energy" in event


def test_a_fallback_says_the_offset_was_not_applied(
    client: TestClient, sessions: SessionFactory, event_config: EventConfig
) -> None:
    page = client.get(f"/submissions/{_store(sessions, event_config, job_id=75, log_marks=False)}").text
    assert "+2000 ms ± 3 ms from Prometheus&#39;s (node_exporter); not applied: GitLab&#39;s window" in page


def test_a_board_of_several_servers_names_each_rows_server_with_its_hardware(event_config: EventConfig) -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from jinja2 import Environment, FileSystemLoader  # noqa: PLC0415

    from greenhack.web.resources import leaderboard_dir  # noqa: PLC0415
    from greenhack.web.templating import install_filters  # noqa: PLC0415

    env = Environment(loader=FileSystemLoader(leaderboard_dir() / "templates"), autoescape=True)
    install_filters(env)
    second = event_config.servers[0].model_copy(update={"name": "gpu-2"})
    config = event_config.model_copy(update={"servers": [*event_config.servers, second]})
    cell = env.get_template("_server_cell.html").render(config=config, r=SimpleNamespace(server="gpu-1"))
    assert cell.strip() == ('<small class="server" title="2 × Intel Xeon Gold 6248, 192 GB RAM, 1 × NVIDIA A100 80GB">'
                            "on gpu-1</small>")  # fmt: skip
