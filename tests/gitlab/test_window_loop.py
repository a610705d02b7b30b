"""The script window end to end: jobs with a runner's preparation and upload around the team's command, their logs
as GitLab Runner writes them, evaluated by the real worker from a Job Hook on the fake GitLab, against a real
Prometheus backfilled with each server's simulated exporters (Scaphandre, dcgm-exporter, node_exporter), the real
BoaviztAPI and PostgreSQL.

Each job: 25 s of preparation (pulling the image: CPU busy, GPU idle), a 30 s script, 4 s of artifact upload, with
+-10 % noise around each phase's power; each runs on a server of its own (no two windows share a server), two of
them behind one runner tag.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gitlab_support import INPUTS, WEBHOOK_SECRET, Platform, perfect_predictions
from pydantic import SecretStr

from greenhack.config import EventConfig, load_event
from greenhack.evaluation import EvaluationContext
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.joblog import format_mark
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.truth import load_truth
from greenhack.services.prometheus import PrometheusServer
from greenhack.store.db import SessionFactory
from greenhack.store.models import Base, Measurement, Submission
from greenhack.telemetry import PrometheusClient
from greenhack.telemetry.simulator import Phase, ScrapeSpan, openmetrics_spans, phased_job
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.testing.runner_log import runner_log
from greenhack.testing.simulated_server import SimulatedServer, simulated_server
from greenhack.web.hooks import make_hook_router

pytestmark = pytest.mark.slow

GROUP = "green-ai-hack-2026"
SHARED_TAG = "green-ai-gpu"
SCRAPE_S = 5.0
SPACING_S = 200.0
LEAD_S = 60.0


def _phases(n: int) -> tuple[Phase, ...]:
    spread = 1.0 + 0.02 * (n % 5)  # jobs differ a little from one another
    return (
        Phase("preparation", 25.0, cpu_w=280.0 * spread, gpu_w=60.0),  # pulling the image: CPU busy, GPU idle
        Phase("script", 30.0, cpu_w=210.0 * spread, gpu_w=260.0 * spread),
        Phase("upload", 4.0, cpu_w=170.0, gpu_w=60.0),
    )


@dataclass(frozen=True)
class Case:
    """One job of the plan: its server's simulation, how its log is written, the runner that ran it."""

    name: str
    sim: SimulatedServer
    log: str
    runner: str

    def utc(self, t_s: float) -> datetime:
        return datetime.fromtimestamp(t_s, tz=UTC)

    @property
    def api(self) -> tuple[datetime, datetime]:
        """GitLab's window: GitLab's clock is Prometheus's here, its API gives milliseconds."""
        return self.utc(round(self.sim.job.start_s, 3)), self.utc(round(self.sim.job.end_s, 3))

    @property
    def script_truth_j(self) -> float:
        return self.sim.job.phase_energy_j("script")

    @property
    def overhead_truth_j(self) -> float:
        return self.sim.job.phase_energy_j("preparation") + self.sim.job.phase_energy_j("upload")

    def truth_j(self, start: datetime, end: datetime) -> float:
        return self.sim.job.energy_j(start.timestamp(), end.timestamp())


def _plan() -> dict[str, Case]:
    names = [
        "cold", "offset", "blind", "forged-inside", "forged-midline", "forged-untimestamped", "no-marks",
        "twin-a", "twin-b", "stray", "forged-unreadable", "chatty",
    ]  # fmt: skip
    t0_s = datetime.now(UTC).timestamp() - len(names) * SPACING_S - 2 * LEAD_S
    cases: dict[str, Case] = {}
    for n, name in enumerate(names):
        start_s = round(t0_s + n * SPACING_S, 3) + 0.123
        job = phased_job(start_s, _phases(n), idle_cpu_w=95.0, idle_gpu_w=55.0, noise=0.1, seed=n)
        sim = simulated_server(
            name,
            job,
            gpu_exporter="dcgm",
            clock_offset_s=2.0 if name in ("offset", "blind") else 0.0,
            node_exporter=name != "blind",
        )
        times = sim.log_times()
        start, end = times.command_start, times.command_end
        if name == "forged-inside":
            # the team prints marks of its own while its command runs: an early end, a late start, and marks
            # claiming times outside GitLab's window; the runner stamps each line when it is printed
            lines = [
                (start + timedelta(seconds=3), format_mark("end", "script", start + timedelta(seconds=3))),
                (end - timedelta(seconds=3), format_mark("start", "script", end - timedelta(seconds=3))),
                (start + timedelta(seconds=5), format_mark("start", "script", times.started - timedelta(minutes=5))),
                (start + timedelta(seconds=6), format_mark("end", "script", times.finished + timedelta(minutes=5))),
            ]
            log = runner_log(times, team_lines=lines)
        elif name == "forged-midline":
            # a mark after other text on its line gets no runner timestamp: its own (forged) time is read
            line = "epoch 1/3 " + format_mark("start", "script", times.started - timedelta(minutes=5))
            log = runner_log(times, team_lines=[(start + timedelta(seconds=4), line)])
        elif name == "forged-untimestamped":
            # an older runner without FF_TIMESTAMPS: every mark's time is what it prints
            line = format_mark("end", "script", times.finished + timedelta(minutes=5))
            log = runner_log(times, timestamps=False, team_lines=[(start + timedelta(seconds=4), line)])
        elif name == "forged-unreadable":
            # marks whose times are no real time (twelve digits: year 33658), without the runner's timestamps so
            # that even the section marker counts as the runner's
            lines = [
                (start + timedelta(seconds=4), "greenhack_mark:end:script:999999999999"),
                (start + timedelta(seconds=5), "section_end:999999999999:step_script\r\x1b[0K"),
                (start + timedelta(seconds=6), "greenhack_mark:start:script:999999999999.5"),
            ]
            log = runner_log(times, timestamps=False, team_lines=lines)
        elif name == "chatty":
            # the team prints about 1 MB between the marks, far past the 40 kB the platform is told to keep
            lines = [(start + timedelta(seconds=1 + i * 0.005), f"step {i} " + "x" * 200) for i in range(5000)]
            log = runner_log(times, team_lines=lines)
        elif name == "no-marks":
            # neither greenhack marks nor the runner's section markers (not GitLab Runner's, or a stripped log)
            log = "".join(
                line + "\n" for line in runner_log(times, marks=False).splitlines() if "section_" not in line
            )
        else:
            log = runner_log(times)
        runner = {"twin-a": "twin-a runner", "twin-b": "twin-b runner", "stray": "stray runner"}.get(
            name, f"{name} runner"
        )
        cases[name] = Case(name, sim, log, runner)
    return cases


@pytest.fixture(scope="module")
def plan() -> dict[str, Case]:
    return _plan()


@pytest.fixture(scope="module")
def window_prometheus(
    prometheus_factory: Callable[..., PrometheusServer], plan: dict[str, Case]
) -> PrometheusServer:
    # every server is scraped from a minute before its job until now (the worker waits for samples past a window)
    until_s = datetime.now(UTC).timestamp() - 2.0
    spans = [
        ScrapeSpan(exporter, case.sim.job.start_s - LEAD_S, until_s, SCRAPE_S, 0.05, n * 31 + k)
        for n, case in enumerate(plan.values())
        for k, exporter in enumerate(case.sim.exporters)
    ]
    return prometheus_factory(openmetrics_spans(spans))


def _server_entries(plan: dict[str, Case]) -> list[dict[str, Any]]:
    entries = []
    for case in plan.values():
        if case.name == "stray":
            continue  # its runner is on no server of the event
        entry = case.sim.server.model_dump(mode="json", exclude_none=True, exclude={"scrape_interval"})
        entry["runners"] = [case.runner]
        if case.name.startswith("twin-"):
            entry["runner_tags"] = [SHARED_TAG]  # one tag, two servers: GitLab picks the runner
        if case.name == "blind":
            # its node_exporter is in the YAML but was never scraped: the offset is unknown
            entry["node_exporter"] = '{instance="blind:9100"}'
        entries.append(entry)
    return entries


@dataclass
class WindowWorld:
    """The fake GitLab with one team project and every job of the plan, and a way to evaluate them under a
    variant of the event's telemetry section."""

    tmp_path: Path
    fake: FakeGitLab
    sessions: SessionFactory
    prometheus: PrometheusServer
    boavizta_url: str
    plan: dict[str, Case]
    project_id: int = 0
    jobs: dict[str, int] = field(default_factory=dict)

    def seed(self) -> None:
        group = self.fake.find_or_create_group(GROUP)
        project = self.fake.create_project("team-a", namespace_id=group["id"])
        self.fake.add_hook(project["id"], {"url": "http://testserver/api/v1/hooks/gitlab", "token": WEBHOOK_SECRET,
                                           "job_events": True})  # fmt: skip
        self.project_id = int(project["id"])
        for case in self.plan.values():
            tags = [SHARED_TAG] if case.name in ("twin-a", "twin-b", "stray") else [case.name]
            runner = self.fake.runner_id(case.runner, tags=tags)
            start, end = case.api
            job = self.fake.run_job(self.project_id, started_at=start, finished_at=end, runner_id=runner, tags=tags,
                                    artifacts={"predictions.csv": perfect_predictions()}, log=case.log)  # fmt: skip
            self.jobs[case.name] = int(job["id"])

    def config(self, **telemetry: object) -> EventConfig:
        folder = self.tmp_path / f"event-{len(list(self.tmp_path.glob('event-*')))}"
        (folder / "secrets").mkdir(parents=True)
        (folder / "secrets" / "truth.csv").write_text(
            "id,label\n" + "".join(f"{i},{'big' if x > 5 else 'small'}\n" for i, x in INPUTS), encoding="utf-8"
        )
        section = {"prometheus": self.prometheus.url, "scrape_interval": f"{SCRAPE_S:g}s", **telemetry}
        text = textwrap.dedent(
            f"""\
            event: {{name: Window loop, opens: 2026-01-01T09:00:00+01:00, closes: 2027-12-31T17:00:00+01:00}}
            task: {{predictions: predictions.csv, truth: secrets/truth.csv, public_fraction: 0.5}}
            performance: {{metric: accuracy}}
            impact: {{criterion: gwp, pue: 1.2, location: FRA}}
            ranking: {{method: weighted, weights: {{performance: 0.5, impact: 0.5}}}}
            boavizta: {{url: {self.boavizta_url}}}
            gitlab: {{url: {self.fake.url}, group: {GROUP}}}
            """
        ) + yaml.safe_dump({"telemetry": section, "servers": _server_entries(self.plan)}, sort_keys=False)
        (folder / "event.yaml").write_text(text, encoding="utf-8")
        return load_event(folder / "event.yaml")

    def evaluate(
        self, names: Sequence[str], *, max_log_bytes: int = 32 * 1024 * 1024, **telemetry: object
    ) -> dict[str, tuple[Submission, Measurement | None]]:
        """Deliver the jobs' finished Job Hooks to the platform under this telemetry section and let the worker
        evaluate them (on an emptied database); each job's row and measurement."""
        with self.sessions() as session, session.begin():
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(table.delete())
        config = self.config(**telemetry)
        app = FastAPI()
        app.include_router(make_hook_router(config=config, sessions=lambda: self.sessions,
                                            webhook_secret=SecretStr(WEBHOOK_SECRET)))  # fmt: skip
        gateway = GitLabGateway(make_gitlab_client(self.fake.url, self.fake.token, timeout_s=5.0))
        truth = load_truth(config)
        boavizta = BoaviztaClient(str(config.boavizta.url))
        try:
            with TestClient(app) as client, PrometheusClient(self.prometheus.url) as prom:
                ctx = EvaluationContext(
                    config=config, gitlab=gateway, telemetry=prom,
                    impacts=ImpactCalculator(boavizta, FactorCache(self.tmp_path / "factors.json")),
                    truth=truth, split=split_for(config, truth), now=lambda: datetime.now(UTC), scrape_wait_s=0.5,
                    max_log_bytes=max_log_bytes,
                )  # fmt: skip
                platform = Platform(config, self.fake, self.sessions, client, gateway, ctx)
                for name in names:
                    assert [r.status_code for r in self.fake.deliver_job_hook(self.jobs[name], client=client)] == [202]
                platform.drain()
        finally:
            boavizta.close()
        rows: dict[str, tuple[Submission, Measurement | None]] = {}
        with self.sessions() as session:
            for name in names:
                sub = session.execute(
                    sa.select(Submission).where(Submission.gitlab_job_id == self.jobs[name])
                ).scalar_one()
                rows[name] = (sub, session.get(Measurement, sub.id))
        return rows


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    sessions: SessionFactory,
    window_prometheus: PrometheusServer,
    boavizta_url: str,
    plan: dict[str, Case],
) -> Iterator[WindowWorld]:
    with FakeGitLab() as fake:
        world = WindowWorld(tmp_path_factory.mktemp("window"), fake, sessions, window_prometheus, boavizta_url, plan)
        world.seed()
        yield world


def _error(charged_j: float | None, truth_j: float) -> float:
    assert charged_j is not None
    return charged_j / truth_j - 1.0


def test_the_script_window_charges_the_command_alone_and_reports_the_overhead(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    case = plan["cold"]
    (sub, m) = world.evaluate(["cold"])["cold"]
    assert sub.status == "scored", sub.reason
    assert (sub.server, sub.window_kind, sub.window_fallback) == ("cold", "script", None)
    assert (sub.script_start_source, sub.script_end_source) == ("runner_timestamp", "runner_timestamp")
    assert sub.script_start_resolution_s == pytest.approx(1e-6)
    # GitLab's window stays the submission's window (the overlap rule compares it)
    assert (sub.window_start, sub.window_end) == case.api
    script_error = _error(sub.energy_j, case.script_truth_j)
    assert abs(script_error) < 0.01, script_error
    assert sub.duration_s == pytest.approx(30.0, abs=1e-3)
    # the overhead is measured and stored apart, the team is not charged for it
    assert m is not None and m.overhead_before_j is not None and m.overhead_after_j is not None
    assert sub.overhead_energy_j == pytest.approx(m.overhead_before_j + m.overhead_after_j)
    assert abs(_error(sub.overhead_energy_j, case.overhead_truth_j)) < 0.02
    assert m.overhead_duration_s == pytest.approx(29.0, abs=0.01)
    assert m.clock_offset_s == pytest.approx(0.0, abs=0.005) and m.ntp_synchronised is True

    # the same job charged over GitLab's window (telemetry.window: job) over-counts the script by more than half
    (job_sub, _) = world.evaluate(["cold"], window="job")["cold"]
    assert job_sub.status == "scored", job_sub.reason
    assert (job_sub.window_kind, job_sub.script_start, job_sub.overhead_energy_j) == ("job", None, None)
    api_error = _error(job_sub.energy_j, case.script_truth_j)
    assert api_error > 0.5, api_error
    assert abs(_error(job_sub.energy_j, case.truth_j(*case.api))) < 0.01
    print(f"\ncold pull: script window {script_error:+.3%}, API window {api_error:+.3%} against the script's "
          f"true {case.script_truth_j:.0f} J; overhead {sub.overhead_energy_j:.0f} J "
          f"({_error(sub.overhead_energy_j, case.overhead_truth_j):+.3%} of its true {case.overhead_truth_j:.0f} J)")


def test_a_2s_clock_offset_is_detected_and_corrected_and_held_past_max_clock_offset(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    case = plan["offset"]
    (sub, m) = world.evaluate(["offset"])["offset"]
    assert m is not None and m.clock_offset_s == pytest.approx(2.0, abs=0.01)
    assert m.clock_offset_uncertainty_s is not None and m.clock_offset_uncertainty_s < 0.01
    # the window read from the log is in the server's clock, 2 s ahead; the one measured is Prometheus's
    script_start_s, _ = case.sim.job.bounds("script")
    assert sub.script_start is not None
    assert sub.script_start.timestamp() == pytest.approx(script_start_s + 2.0, abs=1e-3)
    assert m.start.timestamp() == pytest.approx(script_start_s, abs=0.01)
    corrected = _error(sub.energy_j, case.script_truth_j)
    assert abs(corrected) < 0.01, corrected
    # 2 s is more than telemetry.max_clock_offset (500 ms by default): an organiser looks at it
    assert (sub.status, sub.reason_code) == ("needs_review", "clock_offset")
    assert "+2.0" in (sub.reason or "") and "telemetry.max_clock_offset" in (sub.reason or "")
    # an event that accepts 3 s ranks it, corrected all the same
    (lenient, _) = world.evaluate(["offset"], max_clock_offset="3s")["offset"]
    assert lenient.status == "scored", lenient.reason
    assert lenient.energy_j == pytest.approx(sub.energy_j, rel=1e-9)
    print(f"\nclock offset 2 s: measured {m.clock_offset_s:+.4f} s (± {m.clock_offset_uncertainty_s:.4f} s), "
          f"corrected window {corrected:+.3%} against the script's true energy")


def test_an_unknown_offset_is_flagged_as_configured(world: WindowWorld, plan: dict[str, Case]) -> None:
    case = plan["blind"]
    (sub, m) = world.evaluate(["blind"])["blind"]
    assert sub.status == "scored", sub.reason  # telemetry.require_clock_offset: false (the default)
    assert m is not None and m.clock_offset_s is None and "no node_time_seconds sample" in (m.clock_offset_note or "")
    uncorrected = _error(sub.energy_j, case.script_truth_j)
    # the edges' part of its interval is the power jump at each edge times max_clock_offset (500 ms), against
    # the measured offset's few ms on a server with a known one
    (cold, cold_m) = world.evaluate(["cold"])["cold"]
    assert cold_m is not None
    blind_edges_j = m.payload["uncertainty"]["edges_j"]
    assert blind_edges_j > 20 * cold_m.payload["uncertainty"]["edges_j"] > 0.0
    (held, _) = world.evaluate(["blind"], require_clock_offset=True)["blind"]
    assert (held.status, held.reason_code) == ("needs_review", "clock_unknown")
    assert "telemetry.require_clock_offset" in (held.reason or "")
    print(f"\noffset 2 s, none known: uncorrected window {uncorrected:+.3%}, edges part {blind_edges_j:.0f} J "
          f"(known offset: {cold_m.payload['uncertainty']['edges_j']:.1f} J); held for review when required")


def test_forged_marks_change_nothing_or_only_lengthen_the_forgers_window(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    rows = world.evaluate(["forged-inside", "forged-midline", "forged-untimestamped"])
    # stamped by the runner when printed, every forged mark lies inside the command: nothing changes
    inside, case = rows["forged-inside"][0], plan["forged-inside"]
    assert inside.status == "scored", inside.reason
    times = case.sim.log_times()
    assert (inside.script_start, inside.script_end) == (times.command_start, times.command_end)
    assert abs(_error(inside.energy_j, case.script_truth_j)) < 0.01
    # a mark that does not open its line, or a log without the runner's timestamps, is read at the time it
    # prints: the start (end) moves to GitLab's started_at (finished_at), and the forger is charged more
    midline, case = rows["forged-midline"][0], plan["forged-midline"]
    assert (midline.script_start, midline.script_start_source) == (case.api[0], "api")
    assert midline.status == "scored", midline.reason
    script_end = datetime.fromtimestamp(case.sim.job.bounds("script")[1], tz=UTC)
    assert abs(_error(midline.energy_j, case.truth_j(case.api[0], script_end))) < 0.01
    assert _error(midline.energy_j, case.script_truth_j) > 0.3
    late, case = rows["forged-untimestamped"][0], plan["forged-untimestamped"]
    assert (late.script_end, late.script_end_source, late.script_start_source) == (case.api[1], "api", "mark")
    assert late.status == "scored", late.reason
    assert _error(late.energy_j, case.script_truth_j) > 0.02
    print("\nforged marks, charged against the script's true energy: inside the command "
          f"{_error(inside.energy_j, plan['forged-inside'].script_truth_j):+.3%}, mid-line start "
          f"{_error(midline.energy_j, plan['forged-midline'].script_truth_j):+.3%}, unstamped late end "
          f"{_error(late.energy_j, case.script_truth_j):+.3%}")


def test_marks_whose_times_are_no_real_time_are_ignored_and_the_job_is_scored(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    case = plan["forged-unreadable"]
    (sub, m) = world.evaluate(["forged-unreadable"])["forged-unreadable"]
    assert (sub.status, sub.reason, sub.window_fallback) == ("scored", None, None)
    times = case.sim.log_times()
    assert (sub.script_start, sub.script_end) == (times.command_start, times.command_end)
    assert (sub.script_start_source, sub.script_end_source) == ("mark", "mark")
    assert m is not None and abs(_error(sub.energy_j, case.script_truth_j)) < 0.01


def test_a_chatty_team_s_log_far_past_the_limit_still_gives_the_script_window(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    case = plan["chatty"]
    assert len(case.log.encode()) > 25 * 40_000
    (sub, _) = world.evaluate(["chatty"], max_log_bytes=40_000)["chatty"]
    assert (sub.status, sub.reason, sub.window_fallback) == ("scored", None, None)
    times = case.sim.log_times()
    assert (sub.script_start, sub.script_end) == (times.command_start, times.command_end)
    assert (sub.script_start_source, sub.script_end_source) == ("runner_timestamp", "runner_timestamp")
    assert abs(_error(sub.energy_j, case.script_truth_j)) < 0.01


def test_a_log_without_marks_falls_back_to_gitlabs_window_with_its_reason(
    world: WindowWorld, plan: dict[str, Case]
) -> None:
    case = plan["no-marks"]
    (sub, m) = world.evaluate(["no-marks"])["no-marks"]
    assert (sub.status, sub.reason_code, sub.window_fallback) == ("needs_review", "window_fallback", "no_marks")
    assert "neither greenhack marks nor a step_script section" in (sub.window_fallback_reason or "")
    assert "telemetry.window_fallback: review" in (sub.reason or "")
    assert (sub.script_start, sub.script_end) == case.api
    assert abs(_error(sub.energy_j, case.truth_j(*case.api))) < 0.01
    assert m is not None and sub.overhead_energy_j == 0.0  # nothing outside the window measured
    (ranked, _) = world.evaluate(["no-marks"], window_fallback="rank")["no-marks"]
    assert (ranked.status, ranked.reason, ranked.window_fallback) == ("scored", None, "no_marks")


def test_servers_behind_one_tag_are_told_apart_by_their_runner(world: WindowWorld, plan: dict[str, Case]) -> None:
    rows = world.evaluate(["twin-a", "twin-b", "stray"])
    for name in ("twin-a", "twin-b"):
        sub = rows[name][0]
        assert (sub.status, sub.server) == ("scored", name), sub.reason
        assert abs(_error(sub.energy_j, plan[name].script_truth_j)) < 0.01
    stray = rows["stray"][0]
    assert (stray.status, stray.reason_code, stray.server, stray.energy_j) == (
        "needs_review", "unknown_runner", None, None
    )
    assert "'stray runner'" in (stray.reason or "") and "which no server lists among its runners" in (stray.reason or "")
