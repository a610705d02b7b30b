"""The short rehearsal: 6 teams x 4 submissions on 2 simulated servers, every fault and bad-input kind at least
once, through the real web and worker processes, PostgreSQL, Prometheus and BoaviztAPI of the test bench."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from greenhack.rehearsal import RehearsalResult, make_plan, run_rehearsal, short_scenario
from greenhack.rehearsal.scenario import BAD_KINDS, team_paths
from greenhack.services.boavizta import BoaviztaServer
from greenhack.services.prometheus import PrometheusServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rehearsal(
    prometheus_factory: Callable[..., PrometheusServer],
    boavizta_server: BoaviztaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> RehearsalResult:
    workdir: Path = tmp_path_factory.mktemp("rehearsal")
    result = run_rehearsal(
        short_scenario(),
        workdir,
        make_prometheus=lambda text, scrape: prometheus_factory(text, scrape_config=scrape),
        boavizta=boavizta_server,
    )
    assert boavizta_server.running  # the outage ended with BoaviztAPI started again
    print(result.table())
    return result


def test_the_short_plan_has_every_fault_and_bad_input_kind() -> None:
    plan = make_plan(short_scenario(), anchor_s=1_800_000_000.0)
    kinds = {j.kind for j in plan.jobs}
    assert set(BAD_KINDS) <= kinds
    assert {j.delivery for j in plan.jobs} == {"normal", "dropped", "duplicated"}
    assert any(j.exporter_down and not j.live for j in plan.jobs)
    assert any(j.exporter_down and j.live for j in plan.jobs)
    assert sum(j.live for j in plan.jobs) == 2
    assert team_paths(short_scenario())[:3] == ("track1/twin-01", "track2/twin-01", "team-03")
    assert len(plan.jobs) == 24
    for server in range(2):  # windows of one server never overlap
        windows = sorted((j.start_s, j.end_s) for j in plan.jobs if j.server == server and not j.live)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(windows))


def test_subgroup_twins_are_two_teams_with_their_own_jobs(rehearsal: RehearsalResult) -> None:
    twins = [o for o in rehearsal.outcomes if o.team_path.startswith("track")]
    assert {o.team_path for o in twins} == {"track1/twin-01", "track2/twin-01"}
    assert len({o.project_id for o in twins}) == 2
    assert all(o.stored_team == (o.project_id, o.team_path) for o in twins)
    assert "misattributed (stored as another team's)" in rehearsal.table()
    probe = next(p for p in rehearsal.probes if p.name.startswith("subgroup twins"))
    assert probe.passed, probe.detail


def test_nothing_lost_nothing_twice_nothing_forged(rehearsal: RehearsalResult) -> None:
    assert rehearsal.submitted == 24
    assert rehearsal.lost == []
    assert rehearsal.misattributed == []
    assert rehearsal.unfinished == []
    assert rehearsal.evaluated == 24
    assert rehearsal.duplicated == 0
    assert rehearsal.forged_accepted == 0


def test_every_job_ends_in_the_status_its_input_deserves(rehearsal: RehearsalResult) -> None:
    assert rehearsal.unexpected == []
    by_kind: dict[str, set[str | None]] = {}
    for outcome in rehearsal.outcomes:
        by_kind.setdefault(outcome.plan.kind, set()).add(outcome.status)
    for kind in ("corrupt", "empty", "huge", "binary", "crashed"):
        assert by_kind[kind] == {"invalid"}, kind
    assert by_kind["forged_window"] == {"scored"}
    down = {o.status for o in rehearsal.outcomes if o.plan.exporter_down}
    assert down == {"needs_review"}
    assert rehearsal.flagged >= 2


def test_every_fault_was_injected_and_survived(rehearsal: RehearsalResult) -> None:
    names = {f.name for f in rehearsal.faults}
    assert names == {
        "BoaviztAPI down",
        "Prometheus restarted",
        "worker SIGKILL",
        "PostgreSQL connections dropped",
    }
    kill = next(f for f in rehearsal.faults if f.name == "worker SIGKILL")
    assert "mid-evaluation" in kill.detail
    # the board kept answering around the connection drops (the pool reconnects)
    assert rehearsal.board_latency_s
    assert rehearsal.board_errors <= 2


def test_bad_requests_and_other_teams_private_details(rehearsal: RehearsalResult) -> None:
    checks = {p.name: p for p in rehearsal.probes if not p.informational}
    assert "webhook with a wrong token refused (401)" in checks
    assert "malformed JSON refused (400)" in checks
    assert "another team's private-row score hidden from a visitor" in checks
    assert "final board refused to a visitor before the close (403)" in checks
    assert "platform internals (job URL, last error) hidden from a visitor, shown to an admin" in checks
    assert "predictions' problems (may name truth labels) hidden from a visitor" in checks
    failed = [f"{p.name}: {p.detail}" for p in checks.values() if not p.passed]
    assert failed == []


def test_figures_are_measured(rehearsal: RehearsalResult) -> None:
    assert len(rehearsal.latency_all) == 24
    assert all(x > 0 for x in rehearsal.latency_all)
    assert rehearsal.memory_mb.get("web", 0) > 20
    assert any(k.startswith("worker") for k in rehearsal.memory_mb)
    assert rehearsal.energy_errors and max(rehearsal.energy_errors) < 0.05
    assert "SIMULATED" in rehearsal.table() and "REAL TIME" in rehearsal.table()
