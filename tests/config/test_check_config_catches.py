"""check-config catches what would fail later (issue 18), one case per check, each with its located
``FILE:LINE: key: message``: every case passes the types and broke the event once it ran."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.config import JOB_TIMEOUT_PATTERN, event_summary
from greenhack.errors import ConfigError
from greenhack.preflight import load_checked_event as load_event
from greenhack.quantities import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "event.yaml"


@dataclass(frozen=True)
class Case:
    """Edits of the example event (YAML lines, truth file) and the one problem they must produce.

    ``expected`` is ``FILE:LINE: key: message`` with ``{yaml}``/``{truth}`` for the files and ``{line}`` for the
    line of ``line_of`` in the edited YAML.
    """

    id: str
    replace: tuple[tuple[str, str], ...] = ()
    truth: str | None = None
    line_of: str = ""
    expected: str = ""


EXPRESSION = (
    ("  method: weighted                      # weighted | ratio | pareto | threshold | expression", "  method: expression"),
    ("  weights: {performance: 0.5, impact: 0.5}\n", ""),
)

CASES = [
    Case(
        "expression-names-another-metric",
        replace=(*EXPRESSION, ('  # expression: "accuracy - 0.05 * log10(gwp_g)"', '  expression: "1 - 0.01 * gwp_g + f1_macro"')),
        line_of="  expression:",
        expected="{yaml}:{line}: ranking.expression: column 20: 'f1_macro' is not computed in this event: "
        "performance.metric is 'accuracy' (write accuracy or performance)",
    ),
    Case(
        "truth-without-target-column",
        truth="id,target\n1,cat\n",
        expected="{truth}:1: task.truth: the header has no column 'label'",
    ),
    Case(
        "truth-duplicate-ids",
        truth="id,label\n1,cat\n2,dog\n1,cat\n",
        expected="{truth}:4: task.truth: id '1' appears twice (first on line 2)",
    ),
    Case(
        "truth-empty-label",
        truth="id,label\n1,cat\n2,\n",
        expected="{truth}:3: task.truth: empty 'label' for id '2'",
    ),
    Case(
        "truth-not-numbers-for-a-regression-metric",
        replace=(("  metric: accuracy", "  metric: rmse"), ("  minimum: 0.60", "  minimum: 2.5")),
        truth="id,label\n1,3.5\n2,dog\n",
        expected="{truth}:3: task.truth: 'label' 'dog' is not a number (the metric rmse needs numbers)",
    ),
    Case(
        "minimum-above-the-metric-range",
        replace=(("  minimum: 0.60", "  minimum: 60"),),
        line_of="  minimum:",
        expected="{yaml}:{line}: performance.minimum: 60 is outside the range of accuracy (0 to 1): no submission "
        "could be ranked; did you mean 0.6?",
    ),
    Case(
        "minimum-below-zero-for-an-error-metric",
        replace=(("  metric: accuracy", "  metric: mae"), ("  minimum: 0.60", "  minimum: -1")),
        truth="id,label\n1,3.5\n2,4\n",
        line_of="  minimum:",
        expected="{yaml}:{line}: performance.minimum: -1 is the largest mae allowed, but mae is never below 0: no "
        "submission could be ranked",
    ),
    Case(
        "cpu-boavizta-would-not-match",
        replace=(("name: Intel Xeon Gold 6248", "name: Intel Xeon Gold 9999"),),
        line_of="      cpu:",
        expected="{yaml}:{line}: servers[0].hardware.cpu.name: BoaviztAPI 2.5.0 does not know the CPU 'Intel Xeon Gold "
        "9999': its nearest entry 'Intel Xeon Gold 5115' is another model (BoaviztAPI would silently use it); close "
        "names it knows: ",
    ),
    Case(
        "gpu-boavizta-does-not-know",
        replace=(("name: NVIDIA A100 80GB", "name: Radeon Instinct MI999"),),
        line_of="      gpu:",
        expected="{yaml}:{line}: servers[0].hardware.gpu.name: BoaviztAPI 2.5.0 does not know the GPU 'Radeon Instinct MI999'",
    ),
    Case(
        "job-timeout-without-unit",
        replace=(("  job_timeout: 20m", "  job_timeout: 1200"),),
        line_of="  job_timeout:",
        expected="{yaml}:{line}: limits.job_timeout: 1200 has no unit; write it as the CI component takes it, e.g. 20m "
        "or 1200s",
    ),
    Case(
        "job-timeout-the-ci-component-refuses",
        replace=(("  job_timeout: 20m", "  job_timeout: 1h30m"),),
        line_of="  job_timeout:",
        expected="{yaml}:{line}: limits.job_timeout: '1h30m': the CI component accepts a whole number with one unit, "
        "s, m or h (regex ^[1-9][0-9]*[smh]$) (write 90m)",
    ),
]


def _event(tmp_path: Path, case: Case) -> tuple[Path, Path, str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in case.replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "secrets").mkdir()
    truth = tmp_path / "secrets" / "truth.csv"
    if case.truth is None:
        shutil.copy(EXAMPLE.parent / "secrets" / "truth.csv", truth)
    else:
        truth.write_text(case.truth, encoding="utf-8")
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    return path, truth, text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_config_catches(tmp_path: Path, case: Case) -> None:
    path, truth, text = _event(tmp_path, case)
    line = next((n for n, row in enumerate(text.splitlines(), 1) if row.startswith(case.line_of)), 0)
    expected = case.expected.format(yaml=path, truth=truth, line=line)
    with pytest.raises(ConfigError) as info:
        load_event(path)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_check_config_prints_the_located_problem_and_exits_2(tmp_path: Path) -> None:
    path, _, _ = _event(tmp_path, CASES[-1])
    result = CliRunner().invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert re.search(rf"{re.escape(str(path))}:\d+: limits\.job_timeout: '1h30m'", result.output)


@pytest.mark.parametrize(
    "name", sorted(n for n, q in REGISTRY.items() if not q.metric or n == "accuracy")
)
def test_every_quantity_the_event_provides_passes(tmp_path: Path, name: str) -> None:
    # the reverse of the first case: each of them gets a value in a real ranking (tests/store)
    case = Case(name, replace=(*EXPRESSION, ('  # expression: "accuracy - 0.05 * log10(gwp_g)"', f'  expression: "{name} + 1"')))
    path, _, _ = _event(tmp_path, case)
    assert load_event(path).ranking.expression == f"{name} + 1"


def test_the_ci_components_take_the_job_timeout_form_config_checks() -> None:
    components = sorted((ROOT / "ci-templates" / "templates").glob("*.yml"))
    assert components
    for component in components:
        spec = next(yaml.safe_load_all(component.read_text(encoding="utf-8")))
        assert spec["spec"]["inputs"]["job_timeout"]["regex"] == JOB_TIMEOUT_PATTERN, component.name
    assert re.fullmatch(JOB_TIMEOUT_PATTERN, "20m") and not re.fullmatch(JOB_TIMEOUT_PATTERN, "1h30m")


def test_summary_prints_the_limits_and_the_servers() -> None:
    lines = event_summary(load_event(EXAMPLE))
    assert "limits     10 submissions per team per day, job timeout 20m, carbon budget 500 gCO2e per team" in lines
    assert any(line.startswith("server     gpu-1: 2x Intel Xeon Gold 6248") for line in lines)


def test_summary_prints_the_window_mode_and_the_runners(tmp_path: Path) -> None:
    lines = event_summary(load_event(EXAMPLE))
    assert (
        "window     script (fallback to GitLab's window: review); clock offset at most 0.5 s, corrected when known"
        in lines
    )
    assert not any("runners" in line for line in lines)  # the example's server lists none
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "  scrape_interval: 5s\n\nboavizta:" in text and "    runner_tags: [green-ai-gpu-1]" in text
    text = text.replace(
        "  scrape_interval: 5s\n\nboavizta:",
        "  scrape_interval: 5s\n  window: job\n  max_clock_offset: 2s\n\nboavizta:",
    ).replace("    runner_tags: [green-ai-gpu-1]", "    runner_tags: [green-ai-gpu-1]\n    runners: [gpu-1-a, 42]")
    (tmp_path / "event.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    lines = event_summary(load_event(tmp_path / "event.yaml"))
    assert "window     job; clock offset at most 2 s, corrected when known" in lines
    server = next(line for line in lines if line.startswith("server     gpu-1:"))
    assert server.endswith("; tags green-ai-gpu-1; scrape 5s; runners gpu-1-a, 42"), server
