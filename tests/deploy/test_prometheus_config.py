"""`greenhack deploy prometheus-config`: selectors → scrape targets, promtool-valid files, alert rules that fire."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.config import load_event
from greenhack.deploy import alert_rules, plan_scrapes, prometheus_config, target_from_selector
from greenhack.deploy.selectors import LabelMatcher, SelectorProblem
from greenhack.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

PROMTOOL = shutil.which("promtool")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, (
        "promtool not on PATH: run scripts/setup.sh --test (Debian package prometheus)"
    )
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def generate(path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str] | object:
    return CliRunner().invoke(
        app, ["deploy", "prometheus-config", "--config", str(path), "--out", str(out), *extra]
    )


# --- selectors ---------------------------------------------------------------------------------------------------


def test_instance_is_the_address_and_other_equalities_become_target_labels() -> None:
    spec = target_from_selector(
        '{instance="gpu-1:8080", server="gpu-1", job="power"}', kind="scaphandre", job_name="scaphandre"
    )
    assert spec.address == "gpu-1:8080"
    assert dict(spec.labels) == {"server": "gpu-1", "job": "power"}
    assert spec.filters == ()


def test_exporter_labels_are_filters_not_target_labels() -> None:
    spec = target_from_selector(
        '{instance="gpu-1:9400", gpu="0", modelName=~"NVIDIA A100.*"}', kind="dcgm", job_name="dcgm"
    )
    assert spec.labels == ()
    assert [m.name for m in spec.filters] == ["gpu", "modelName"]


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ('{job="scaphandre"}', 'give exactly one instance="HOST:PORT"'),
        ('{instance=~"gpu-1:.*"}', "regular expressions and != cannot name a target"),
        ('{instance="gpu-1"}', "explicit port"),
        ('{instance="gpu-1:99999"}', "explicit port"),
        ('{instance="gpu-1:8080", rack=~"a.*"}', "label rack would not be set"),
        ('{instance="gpu-1:8080", job!="scaphandre"}', "label job would be 'scaphandre'"),
        ('{instance="gpu-1:8080", __name__="x"}', "reserved label"),
        ('{instance="gpu-1:8080", site="a", site="b"}', "two values"),
    ],
)
def test_selectors_that_name_no_target_are_refused(selector: str, message: str) -> None:
    with pytest.raises(SelectorProblem, match=None) as info:
        target_from_selector(selector, kind="scaphandre", job_name="scaphandre")
    assert message in str(info.value)


def test_satisfiable_non_equality_matchers_are_accepted() -> None:
    spec = target_from_selector(
        '{instance="gpu-1:8080", job=~"scaph.*", rack!="b", room=""}',
        kind="scaphandre",
        job_name="scaphandre",
    )
    assert spec.address == "gpu-1:8080" and spec.labels == ()


def test_matcher_semantics_follow_prometheus() -> None:
    assert LabelMatcher("a", "=~", "gpu").matches("gpu") and not LabelMatcher("a", "=~", "gpu").matches(
        "gpu-1"
    )
    assert LabelMatcher("a", "!~", "x.*").matches("") and LabelMatcher("a", "=", "").matches("")
    assert str(LabelMatcher("a", "=", 'say "hi"\\')) == 'a="say \\"hi\\"\\\\"'


# --- the generated files -------------------------------------------------------------------------------------------


def test_example_event_files_pass_promtool(tmp_path: Path) -> None:
    result = generate(
        REPO / "examples" / "event.yaml", tmp_path, "--remote-write", "http://vm:8428/api/v1/write"
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    check = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 1 rule files found" in check.stdout
    rules = promtool("check", "rules", str(tmp_path / "greenhack-alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 6 rules found" in rules.stdout
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert config["remote_write"] == [{"url": "http://vm:8428/api/v1/write"}]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["scaphandre"]["static_configs"] == [{"targets": ["gpu-1:8080"]}]
    assert jobs["nvidia_gpu"]["static_configs"] == [{"targets": ["gpu-1:9835"]}]
    assert jobs["scaphandre"]["scrape_interval"] == "5s"
    assert "node" not in jobs  # the contract's event names no node_exporter


def test_two_server_example_scrapes_each_servers_clock(tmp_path: Path) -> None:
    result = generate(REPO / "examples" / "two-servers.yaml", tmp_path)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    check = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    rules = promtool("check", "rules", str(tmp_path / "greenhack-alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    # per server: 3 per power exporter (down, no data, frozen), 4 for node_exporter (down, no data, clock offset,
    # NTP): 2 x (3 + 3 + 4)
    assert "SUCCESS: 20 rules found" in rules.stdout
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["node"]["static_configs"] == [{"targets": ["gpu-1:9100"]}, {"targets": ["gpu-2:9100"]}]


def test_shipped_prometheus_files_are_up_to_date() -> None:
    """deploy/prometheus/ (mounted by docker-compose.yml) is what the generator makes of examples/event.yaml."""
    config = load_event(REPO / "examples" / "event.yaml")
    shipped = REPO / "deploy" / "prometheus"
    assert (shipped / "prometheus.yml").read_text() == prometheus_config(config)
    assert (shipped / "greenhack-alerts.yml").read_text() == alert_rules(config)


def test_several_servers_intervals_and_exporters(write_event, server_entry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_event(
        [
            server_entry("gpu-1", '{instance="gpu-1:8080", site="lyon"}', '{instance="gpu-1:9835"}'),
            server_entry(
                "gpu-2",
                '{instance="gpu-2:8080"}',
                '{instance="gpu-2:9400", gpu="0"}',
                gpu_exporter="dcgm",
                scrape_interval="10s",
            ),
            server_entry(
                "gpu-3",
                '{instance="gpu-2:8081"}',
                '{instance="gpu-2:9400", gpu="1"}',
                gpu_exporter="dcgm",
                scrape_interval="10s",
            ),
        ]
    )
    out = tmp_path / "out"
    result = generate(path, out)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert promtool("check", "config", str(out / "prometheus.yml")).returncode == 0
    assert promtool("check", "rules", str(out / "greenhack-alerts.yml")).returncode == 0
    config = yaml.safe_load((out / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"scaphandre_5s", "scaphandre_10s", "nvidia_gpu", "dcgm"}
    assert jobs["scaphandre_5s"]["static_configs"] == [
        {"targets": ["gpu-1:8080"], "labels": {"site": "lyon"}}
    ]
    # one dcgm-exporter shared by two servers, split by its own gpu label: scraped once
    assert jobs["dcgm"]["static_configs"] == [{"targets": ["gpu-2:9400"]}]
    assert jobs["dcgm"]["scrape_interval"] == "10s" and jobs["dcgm"]["scrape_timeout"] == "10s"
    assert config["global"]["scrape_interval"] == "5s"


def test_problems_are_reported_with_key_and_line(write_event, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_event(
        raw_servers="""servers:
  - name: gpu-1
    runner_tags: [a]
    scaphandre: '{job="scaphandre"}'
    hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64}
  - name: gpu-2
    runner_tags: [b]
    scaphandre: '{instance="gpu-2:8080"}'
    scrape_interval: 1s
    hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64}
"""
    )
    lines = path.read_text().splitlines()
    out = tmp_path / "out"
    result = generate(path, out)
    assert result.exit_code == 2
    stderr = result.stderr  # type: ignore[attr-defined]
    scaph_line = next(i for i, line in enumerate(lines, 1) if "{job=" in line)
    interval_line = next(i for i, line in enumerate(lines, 1) if "scrape_interval: 1s" in line)
    assert f"{path}:{scaph_line}: servers[0].scaphandre:" in stderr
    assert f"{path}:{interval_line}: servers[1].scrape_interval: 1s is too fast for scaphandre" in stderr
    assert "2 problems: no file written" in stderr
    assert not out.exists()


def test_one_exporter_claimed_by_two_servers_is_refused(write_event, server_entry) -> None:  # type: ignore[no-untyped-def]
    path = write_event(
        [
            server_entry("gpu-1", '{instance="gpu-1:8080"}'),
            server_entry("gpu-2", '{instance="gpu-1:8080"}'),
        ]
    )
    with pytest.raises(ConfigError) as info:
        plan_scrapes(load_event(path))
    assert "servers[1].scaphandre" in str(info.value) and "charged the same energy" in str(info.value)


def test_an_invalid_event_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "event.yaml"
    bad.write_text("event: [\n")
    result = CliRunner().invoke(
        app, ["deploy", "prometheus-config", "--config", str(bad), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- alert rules fire --------------------------------------------------------------------------------------------


def test_alert_rules_fire_when_an_exporter_is_down_silent_or_frozen(tmp_path: Path) -> None:
    result = generate(REPO / "examples" / "event.yaml", tmp_path)
    assert result.exit_code == 0
    rules = yaml.safe_load((tmp_path / "greenhack-alerts.yml").read_text())["groups"][0]["rules"]

    def annotations(alert: str, exporter: str) -> dict[str, str]:
        rule = next(r for r in rules if r["alert"] == alert and r["labels"]["exporter"] == exporter)
        return dict(rule["annotations"])

    tests = {
        "rule_files": ["greenhack-alerts.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {  # Scaphandre target down for 3 minutes: Down fires after its 1 m 'for'
                "interval": "15s",
                "input_series": [
                    {"series": 'up{instance="gpu-1:8080", job="scaphandre"}', "values": "0x12"},
                    {"series": 'up{instance="gpu-1:9835", job="nvidia_gpu"}', "values": "1x12"},
                    {
                        "series": 'nvidia_smi_power_draw_watts{instance="gpu-1:9835", uuid="abc"}',
                        "values": "60+0.5x12",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "2m",
                        "alertname": "GreenhackExporterDown",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "server": "gpu-1",
                                    "exporter": "scaphandre",
                                    "instance": "gpu-1:8080",
                                    "job": "scaphandre",
                                },
                                "exp_annotations": {
                                    "summary": "Scaphandre of gpu-1 is down (gpu-1:8080)",
                                    "description": "Prometheus cannot scrape gpu-1:8080 (job scaphandre). Jobs that run on "
                                    "gpu-1 meanwhile cannot be measured and will be held as needs_review.",
                                },
                            }
                        ],
                    },
                    {"eval_time": "30s", "alertname": "GreenhackExporterDown", "exp_alerts": []},
                ],
            },
            {  # GPU exporter up but exposing no power (no GPU visible): NoData after 2 m
                "interval": "15s",
                "input_series": [
                    {"series": 'up{instance="gpu-1:9835", job="nvidia_gpu"}', "values": "1x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "3m",
                        "alertname": "GreenhackExporterNoData",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "server": "gpu-1",
                                    "exporter": "nvidia_smi",
                                    "instance": "gpu-1:9835",
                                },
                                "exp_annotations": annotations("GreenhackExporterNoData", "nvidia_smi"),
                            }
                        ],
                    },
                ],
            },
            {  # Scaphandre's counter frozen (scraped too fast): Stale after 120 s window + 1 m
                "interval": "15s",
                "input_series": [
                    {"series": 'up{instance="gpu-1:8080", job="scaphandre"}', "values": "1x30"},
                    {
                        "series": 'scaph_host_energy_microjoules{instance="gpu-1:8080"}',
                        "values": "1000+1000x4 5000x25",
                    },
                    {"series": 'scaph_host_power_microwatts{instance="gpu-1:8080"}', "values": "1e8x30"},
                ],
                "alert_rule_test": [
                    {"eval_time": "2m", "alertname": "GreenhackExporterStale", "exp_alerts": []},
                    {
                        "eval_time": "5m",
                        "alertname": "GreenhackExporterStale",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "server": "gpu-1",
                                    "exporter": "scaphandre",
                                    "instance": "gpu-1:8080",
                                },
                                "exp_annotations": annotations("GreenhackExporterStale", "scaphandre"),
                            }
                        ],
                    },
                ],
            },
        ],
    }
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    run = promtool("test", "rules", str(test_file), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_clock_alerts_fire_when_a_servers_clock_is_off_or_unsynchronised(tmp_path: Path) -> None:
    result = generate(REPO / "examples" / "two-servers.yaml", tmp_path)
    assert result.exit_code == 0
    node = 'instance="gpu-1:9100", job="node"'
    expected_labels = {"severity": "warning", "server": "gpu-1", "exporter": "node", "instance": "gpu-1:9100",
                       "job": "node"}
    rules = yaml.safe_load((tmp_path / "greenhack-alerts.yml").read_text())["groups"][0]["rules"]

    def fired(alert: str, value: str = "") -> dict[str, object]:
        rule = next(r for r in rules if r["alert"] == alert and r["labels"]["exporter"] == "node")
        notes = {k: v.replace("{{ $value | humanizeDuration }}", value) for k, v in rule["annotations"].items()}
        return {"exp_labels": expected_labels, "exp_annotations": notes}
    tests = {
        "rule_files": ["greenhack-alerts.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {  # the server's clock 150 ms ahead of Prometheus's (node_time_seconds = scrape time + 0.15 s)
                "interval": "15s",
                "input_series": [
                    {"series": f"up{{{node}}}", "values": "1x20"},
                    {"series": f"node_time_seconds{{{node}}}", "values": "0.15+15x20"},
                    {"series": f"node_timex_sync_status{{{node}}}", "values": "1x20"},
                ],
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": "GreenhackClockOffset", "exp_alerts": []},
                    {"eval_time": "3m", "alertname": "GreenhackClockOffset",
                     "exp_alerts": [fired("GreenhackClockOffset", "150ms")]},
                    {"eval_time": "3m", "alertname": "GreenhackClockUnsynchronised", "exp_alerts": []},
                ],
            },
            {  # within 100 ms (a few ms of scrape latency), but NTP says the clock is not synchronised
                "interval": "15s",
                "input_series": [
                    {"series": f"up{{{node}}}", "values": "1x40"},
                    {"series": f"node_time_seconds{{{node}}}", "values": "0.004+15x40"},
                    {"series": f"node_timex_sync_status{{{node}}}", "values": "0x40"},
                ],
                "alert_rule_test": [
                    {"eval_time": "8m", "alertname": "GreenhackClockOffset", "exp_alerts": []},
                    {"eval_time": "4m", "alertname": "GreenhackClockUnsynchronised", "exp_alerts": []},
                    {"eval_time": "8m", "alertname": "GreenhackClockUnsynchronised",
                     "exp_alerts": [fired("GreenhackClockUnsynchronised")]},
                ],
            },
            {  # the clock 300 ms behind: the offset is absolute
                "interval": "15s",
                "input_series": [
                    {"series": f"node_time_seconds{{{node}}}", "values": "-0.3+15x20"},
                ],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": "GreenhackClockOffset",
                     "exp_alerts": [fired("GreenhackClockOffset", "300ms")]},
                ],
            },
        ],
    }
    test_file = tmp_path / "clock_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    run = promtool("test", "rules", str(test_file), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_node_exporter_selectors_are_planned_like_the_others(write_event, server_entry) -> None:  # type: ignore[no-untyped-def]
    path = write_event(
        [
            server_entry("gpu-1", '{instance="gpu-1:8080"}', node_exporter='{instance="gpu-1:9100"}'),
            server_entry("gpu-2", '{instance="gpu-2:8080"}', node_exporter='{instance="gpu-1:9100"}'),
        ]
    )
    with pytest.raises(ConfigError) as info:
        plan_scrapes(load_event(path))
    assert "servers[1].node_exporter" in str(info.value)
    bad = write_event([server_entry("gpu-1", '{instance="gpu-1:8080"}', node_exporter='{job="node"}')])
    with pytest.raises(ConfigError) as missing:
        plan_scrapes(load_event(bad))
    assert "servers[0].node_exporter" in str(missing.value) and 'instance="gpu-1:9100"' in str(missing.value)
