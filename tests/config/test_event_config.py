"""The event YAML contract: every key of examples/event.yaml accepted, every problem located."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from greenhack.config import load_event, parse_duration, parse_event, parse_label_selector
from greenhack.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "event.yaml"
SHARED_CONTRACT = ROOT.parent / "shared" / "examples" / "event.yaml"


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "event.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_event(path)
    return [str(p) for p in info.value.problems]


def test_example_event_is_valid_and_means_what_its_comments_say() -> None:
    config = load_event(EXAMPLE)
    assert config.event.name == "Green AI Hack 2026"
    assert config.event.opens.utcoffset() == timedelta(hours=1)
    assert config.event.freeze is not None and config.event.opens < config.event.freeze < config.event.closes
    assert config.task.public_fraction == 0.3
    assert config.truth_path == EXAMPLE.parent / "secrets" / "truth.csv"
    assert config.performance.metric == "accuracy" and config.performance.higher_is_better
    assert config.performance.minimum == 0.60
    assert config.impact.include == ["use", "embodied"] and config.impact.pue == 1.3
    assert config.impact.location == "FRA" and config.impact.unit == "kgCO2e"
    assert config.ranking.weights is not None and config.ranking.weights.performance == 0.5
    assert config.limits.job_timeout == timedelta(minutes=20)
    assert config.limits.carbon_budget_g == 500
    server = config.server("gpu-1")
    assert server.scaphandre == '{instance="gpu-1:8080"}'
    assert server.gpu_exporter == "nvidia_smi"
    assert config.scrape_interval_for(server) == timedelta(seconds=5)
    assert server.hardware.gpu is not None and server.hardware.gpu.name == "NVIDIA A100 80GB"
    assert server.hardware.lifetime_hours == pytest.approx(5 * 8766)
    assert config.server_for_runner_tags(["green-ai-gpu-1", "docker"]) is server
    assert config.server_for_runner_tags(["other"]) is None
    assert config.gitlab is not None and config.gitlab.token_env == "GREENHACK_GITLAB_TOKEN"


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="the shared contract lives beside the checkout")
def test_repo_copy_matches_the_contract() -> None:
    assert EXAMPLE.read_text() == SHARED_CONTRACT.read_text()


def test_unknown_key_is_reported_at_its_line(event_dir: Path) -> None:
    lines = (event_dir / "event.yaml").read_text().splitlines()
    assert lines[11 - 1].startswith("task:")
    lines.insert(11, "  colour: blue")  # becomes line 12
    problems = problems_of("\n".join(lines) + "\n", event_dir)
    assert problems == [f"{event_dir / 'event.yaml'}:12: task.colour: unknown key (check its spelling; see "
                        "examples/event.yaml for every key)"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  opens: 2026-12-01T09:00:00+01:00", "  opens: 2026-12-01T09:00:00", ":7: event.opens: a time needs its UTC offset"),
        ("  freeze: 2026-12-02T16:00:00+01:00", "  freeze: 2026-12-03T16:00:00+01:00", ":9: event.freeze: must lie between"),
        ("  public_fraction: 0.3 ", "  public_fraction: 1.5 ", ":16: task.public_fraction: Input should be less than or equal to 1"),
        ("  metric: accuracy ", "  metric: acc ", ":19: performance.metric: Input should be 'accuracy'"),
        ("  location: FRA ", "  location: fra ", ":26: impact.location: 'fra' is not an ISO 3166-1 alpha-3 code BoaviztAPI knows (codes are upper case)"),
        ("  location: FRA ", "  location: XYZ ", ":26: impact.location: 'XYZ' is not an ISO 3166-1 alpha-3 code"),
        ("  weights: {performance: 0.5, impact: 0.5}", "  weights: {performance: 0.5, impact: 0.7}", ":32: ranking.weights: sum to 1.2; performance + impact must sum to 1"),
        ("  method: weighted ", "  method: expression ", ":31: ranking.method: method 'expression' needs ranking.expression"),
        ("  job_timeout: 20m", "  job_timeout: twenty", ":38: limits.job_timeout: 'twenty' is not a duration"),
        ("  submissions_per_day: 10 ", "  submissions_per_day: ten ", ":37: limits.submissions_per_day: Input should be a valid integer"),
        ("  scrape_interval: 5s\n\nboavizta", "  scrape_interval: -5s\n\nboavizta", ":43: telemetry.scrape_interval: '-5s' is not a duration"),
        ("    scaphandre: '{instance=\"gpu-1:8080\"}'", "    scaphandre: 'instance=gpu-1'", ":51: servers[0].scaphandre: 'instance=gpu-1' is not a PromQL label selector"),
        ("    scaphandre: '{instance=\"gpu-1:8080\"}'", "    scaphandre: '{instance=\"a\" job=\"b\"}'", ":51: servers[0].scaphandre: '{instance=\"a\" job=\"b\"}': expected ',' between label matchers"),
        ("    gpu_exporter: nvidia_smi ", "    gpu_exporter: rocm ", ":53: servers[0].gpu_exporter: Input should be 'nvidia_smi' or 'dcgm'"),
        ("    runner_tags: [green-ai-gpu-1]", "    runner_tags: []", ":50: servers[0].runner_tags: server 'gpu-1' is referenced nowhere"),
        ("  truth: secrets/truth.csv", "  truth: secrets/missing.csv", ":13: task.truth: truth file 'secrets/missing.csv' (relative to the YAML file's folder) does not exist"),
        ("      ram_gb: 192", "      ram_gb: lots", ":57: servers[0].hardware.ram_gb: Input should be a valid number"),
        ("  url: https://gitlab.example.org", "  url: gitlab", ":62: gitlab.url: Input should be a valid URL"),
        ("  idle: include ", "  idle: subtract ", ":49: servers[0]: impact.idle is 'subtract' but this server has neither"),
    ],
)
def test_each_problem_names_its_line_and_key(event_dir: Path, old: str, new: str, expected: str) -> None:
    text = (event_dir / "event.yaml").read_text()
    assert old in text, old
    problems = problems_of(text.replace(old, new, 1), event_dir)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(event_dir / "event.yaml") + ":") for p in problems)


def test_ranking_expression_is_checked_at_load_time(event_dir: Path) -> None:
    text = (event_dir / "event.yaml").read_text().replace("  method: weighted ", "  method: expression ")
    text = text.replace("  weights: {performance: 0.5, impact: 0.5}\n", "")
    good = text.replace('  # expression: "accuracy', '  expression: "accuracy')
    (event_dir / "event.yaml").write_text(good)
    assert load_event(event_dir / "event.yaml").ranking.expression == "accuracy - 0.05 * log10(gwp_g)"
    bad = good.replace("log10(gwp_g)", "lg10(gwp_g)")
    problems = problems_of(bad, event_dir)
    assert len(problems) == 1 and ":32: ranking.expression: column " in problems[0], problems


def test_every_problem_is_reported_at_once(event_dir: Path) -> None:
    text = (event_dir / "event.yaml").read_text()
    text = text.replace("  metric: accuracy ", "  metric: acc ").replace("  pue: 1.3", "  pue: 0.5")
    text = text.replace("  truth: secrets/truth.csv", "  truth: gone.csv") + "extra_section: 1\n"
    problems = problems_of(text, event_dir)
    keys = [p.split(": ")[1] for p in problems]
    assert keys == ["task.truth", "performance.metric", "impact.pue", "extra_section"]


def test_missing_section_and_duplicate_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("boavizta:\n  url: http://127.0.0.1:5000\n", "")
    text = text.replace("  id_column: id\n", "  id_column: id\n  id_column: key\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "truth.csv").write_text("id,label\n1,a\n")
    problems = problems_of(text, tmp_path)
    assert any(":15: task.id_column: key given twice" in p for p in problems), problems
    assert any(": boavizta: required key is missing" in p for p in problems), problems


@pytest.mark.parametrize(
    "text",
    ["event: [unclosed\n", "just a string\n", "", "event:\n\tname: tab\n"],
)
def test_not_yaml_or_not_a_mapping(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_event(text, filename="e.yaml")
    assert all(str(p).startswith("e.yaml") for p in info.value.problems)


def test_duration_and_selector_parsers() -> None:
    assert parse_duration("20m") == timedelta(minutes=20)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    assert parse_duration("1.5s") == timedelta(seconds=1.5)
    assert parse_duration(30) == timedelta(seconds=30)
    for bad in ("", "5", "m5", "5x", "-1s", "0s", True, None):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_label_selector('{instance="a:1",job=~"s.*"}') == '{instance="a:1", job=~"s.*"}'
    assert parse_label_selector("{ a != 'x\\'y' }") == "{a!='x\\'y'}"
    for bad in ("{}", '{instance=""}', "{1a=\"x\"}", '{a="x"', 'a="x"', '{a=x}'):
        with pytest.raises(ValueError):
            parse_label_selector(bad)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenhack.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_cli_valid_and_invalid(event_dir: Path) -> None:
    ok = run_cli("check-config", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "gpu-1" in ok.stdout

    path = event_dir / "event.yaml"
    lines = path.read_text().splitlines()
    lines.insert(11, "  colour: blue")
    path.write_text("\n".join(lines) + "\n")
    bad = run_cli("check-config", str(path))
    assert bad.returncode == 2
    assert f"{path}:12: task.colour: unknown key" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout

    missing = run_cli("check-config", str(event_dir / "nope.yaml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_every_verb_has_help() -> None:
    from greenhack.cli import app  # noqa: PLC0415  (imported here: the CLI builds on import)

    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback is not None]
    groups = [g.name for g in app.registered_groups]
    assert "check-config" in names
    for verb in names + groups:
        result = run_cli(str(verb), "--help")
        assert result.returncode == 0, (verb, result.stderr)
        assert "Usage" in result.stdout
