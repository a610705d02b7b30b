"""The demo's parts: the dataset and its shipped truth, the measured power curve, the Prometheus stand-in, the
factor snapshot used without BoaviztAPI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenhack.competition import baseline_for_project
from greenhack.config import load_event
from greenhack.demo.dataset import digits_split, write_public_data, write_truth
from greenhack.demo.stack import FACTORS_SNAPSHOT, target_labels
from greenhack.demo.teams import DEMO_BASELINE, DEMO_TEAMS, demo_event_dir, team_script
from greenhack.demo.telemetry import (
    LiveScaphandre,
    MeasuredPowerTrace,
    SimulatedPrometheus,
    parse_selector,
    power_segments,
)
from greenhack.errors import TelemetryError
from greenhack.impacts import BoaviztaClient, FactorCache, derive_factors, factor_key, hardware_query
from greenhack.measure import Progress
from greenhack.telemetry import SCAPHANDRE, measure_energy
from greenhack.telemetry.simulator import ExporterSim, SimDevice

EVENT_DIR = demo_event_dir()


def test_the_split_is_deterministic_and_is_the_shipped_truth(tmp_path: Path) -> None:
    split = digits_split()
    assert len(split.test_ids) == 539 and len(split.train_labels) == 1258
    assert set(split.test_labels.tolist()) == set(range(10))
    write_truth(split, tmp_path / "truth.csv")
    assert (tmp_path / "truth.csv").read_bytes() == (EVENT_DIR / "secrets" / "truth.csv").read_bytes()
    train, test = write_public_data(split, tmp_path / "public")
    assert test.read_text().splitlines()[0].split(",")[0] == "id"
    assert "label" not in test.read_text().splitlines()[0]  # the teams never see the test labels
    assert train.read_text().splitlines()[0].endswith(",label")


def test_every_team_has_a_submission_and_the_event_is_valid() -> None:
    assert len(DEMO_TEAMS) >= 3
    for team in (*DEMO_TEAMS, DEMO_BASELINE):
        assert "model.fit(" in team_script(EVENT_DIR, team).read_text()
    config = load_event(EVENT_DIR / "event.yaml")
    # the organisers' baseline is the project the demo creates for it, in the event's group
    assert baseline_for_project(config, f"greenhack-demo/{DEMO_BASELINE.name}") is not None
    assert all(baseline_for_project(config, f"greenhack-demo/{t.name}") is None for t in DEMO_TEAMS)
    assert target_labels(config.servers[0]) == {"job": "scaphandre", "instance": "demo-1:8080"}


def test_power_pieces_integrate_to_the_measured_energy() -> None:
    pieces = power_segments(100.0, 104.0, [(101.0, 2.0), (102.0, 10.0), (103.98, 11.0)], 12.0)
    assert [p.power_w for p in pieces] == pytest.approx([2.0, 8.0, 1.0])  # the last reading is too close to the end
    assert sum(p.power_w * (p.end_s - p.start_s) for p in pieces) == pytest.approx(12.0)


def test_the_host_curve_is_each_jobs_measured_power_and_nothing_in_between() -> None:
    trace = MeasuredPowerTrace()
    trace.finished(10.0, 12.5, [(11.0, 5.0), (12.0, 15.0)], 16.0)
    trace.finished(20.0, 21.0, [], 3.0)
    curve = trace.snapshot()
    assert curve.power_w(11.5) == pytest.approx(10.0)
    assert curve.energy_j(0.0, 15.0) == pytest.approx(16.0)
    assert curve.power_w(15.0) == 0.0
    assert curve.energy_j(0.0, 100.0) == pytest.approx(19.0)


def test_the_live_exporter_reads_the_running_job_at_each_scrape() -> None:
    exporter = LiveScaphandre()
    readings = iter([Progress(1.0, 2.0, "estimate", None), Progress(2.0, 6.0, "estimate", 1.0)])
    first = exporter.exposition(100.0)
    assert "scaph_host_energy_microjoules 0" in first and "# TYPE scaph_host_energy_microjoules counter" in first
    exporter.job_started(lambda: next(readings))
    assert "scaph_host_energy_microjoules 2000000" in exporter.exposition(101.0)
    second = exporter.exposition(102.0)
    assert "scaph_host_energy_microjoules 7000000" in second
    assert "scaph_host_power_microwatts 5000000" in second  # 5 J over the second since the previous scrape
    exporter.job_finished(6.5)
    assert "scaph_host_energy_microjoules 7000000" in exporter.exposition(103.0)  # never backwards


def test_selectors_are_parsed() -> None:
    metric, matchers = parse_selector('scaph_host_power_microwatts{instance="demo-1:8080", job=~"sc.*"}')
    assert metric == "scaph_host_power_microwatts"
    assert [(m.label, m.op, m.value) for m in matchers] == [("instance", "=", "demo-1:8080"), ("job", "=~", "sc.*")]
    with pytest.raises(TelemetryError):
        parse_selector("rate(x[5m])")


def test_the_platform_measures_the_simulated_exporter_without_prometheus() -> None:
    config = load_event(EVENT_DIR / "event.yaml")
    server = config.servers[0]
    trace = MeasuredPowerTrace()
    start = datetime(2026, 3, 1, 12, 0, 0, 300000, tzinfo=UTC)
    end = start + timedelta(seconds=20)
    trace.finished(start.timestamp(), end.timestamp(), [], 200.0)  # 10 W for 20 s
    sim = ExporterSim(SCAPHANDRE, (SimDevice(trace.snapshot()),), target_labels=target_labels(server))
    now = end.timestamp() + 30
    source = SimulatedPrometheus([sim], start_s=start.timestamp() - 30, end_s=now, interval_s=1.0, clock=lambda: now)

    energy = measure_energy(server, start, end, source=source, scrape_interval=timedelta(seconds=1),
                            now=datetime.fromtimestamp(now, tz=UTC))

    assert energy.valid, energy.problems
    assert energy.total_energy_j == pytest.approx(200.0, rel=0.05)  # the window's two edges are interpolated
    assert source.latest_sample_time(f"{SCAPHANDRE.power_metric}{server.scaphandre}") is not None
    # a sample exists only once its scrape time has passed
    early = SimulatedPrometheus([sim], start_s=start.timestamp() - 30, end_s=now, interval_s=1.0,
                                clock=lambda: start.timestamp())
    latest = early.latest_sample_time(f"{SCAPHANDRE.power_metric}{server.scaphandre}")
    assert latest is not None and latest <= start
    assert early.raw_samples('scaph_host_power_microwatts{instance="other:8080"}', start=start, end=end) == []


def test_the_shipped_factor_snapshot_is_what_boavizta_gives(tmp_path: Path, boavizta_url: str) -> None:
    config = load_event(EVENT_DIR / "event.yaml")
    server = config.servers[0]
    query = hardware_query(server)
    snapshot = FactorCache(tmp_path / "snapshot.json")
    (tmp_path / "snapshot.json").write_bytes((EVENT_DIR / FACTORS_SNAPSHOT).read_bytes())
    shipped = snapshot.get(factor_key(query, config.impact.location))
    assert shipped is not None, "the snapshot has no entry for the demo server's hardware and location"
    with BoaviztaClient(boavizta_url) as client:
        live = derive_factors(client, query, config.impact.location, version=client.version(),
                              server_key="servers[0]")
    assert shipped.boavizta_version == live.boavizta_version
    for criterion in ("gwp", "adpe", "pe"):
        a, b = shipped.criterion(criterion), live.criterion(criterion)
        assert a.use_per_j.value == pytest.approx(b.use_per_j.value, rel=1e-9)
        assert a.embodied_per_s.value == pytest.approx(b.embodied_per_s.value, rel=1e-9)


def test_the_serve_hint_runs_as_printed_without_greenhack_on_path(tmp_path: Path) -> None:
    # issue 18: `./scripts/demo.sh` runs .venv/bin/greenhack, so a hint saying `greenhack serve` failed as printed
    from demo_support import GREENHACK, assert_serves

    from greenhack.demo.cli_view import serve_command
    from greenhack.services.ports import free_port
    from greenhack.store.db import upgrade_database

    url = f"sqlite:///{tmp_path / 'demo db' / 'greenhack.db'}"
    (tmp_path / "demo db").mkdir()
    upgrade_database(url)
    for argv0 in (GREENHACK, str(tmp_path / "not-a-script.py")):  # the console script, or python -m greenhack
        port = free_port()
        command = serve_command(database_url=url, event_yaml=EVENT_DIR / "event.yaml", port=port, argv0=argv0)
        assert "'" in command  # the folder with a space is quoted for the shell
        assert_serves(command, port, tmp_path)
