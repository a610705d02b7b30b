"""An event YAML built to hurt the loader gets a located problem, quickly and in little memory, never a crash.

Aliases that expand exponentially ("billion laughs"), nesting past Python's recursion limit (in the YAML and in
the ranking formula) and artifact paths that climb out of the job's folder are each reported as
``FILE:LINE: key: message`` (exit 2 from ``greenhack check-config``, not an internal error).
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from greenhack.config import MAX_YAML_DEPTH, MAX_YAML_INT_DIGITS, MAX_YAML_VALUES, load_event, parse_event
from greenhack.errors import ConfigError


def laughs(levels: int) -> str:
    """The classic alias bomb: each level lists the previous one ten times (10**levels values once expanded)."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\nevent:\n  name: *lol{levels - 1}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_event(text, filename="e.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("levels", [6, 9])
def test_alias_bombs_are_refused_at_their_line_in_little_memory(levels: int) -> None:
    tracemalloc.start()
    try:
        found = problems(laughs(levels))
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 10**5 values pass MAX_YAML_VALUES (100,000) inside lol4's list, on line 5
    assert found == [
        f"e.yaml:5: aliases expand the file to more than {MAX_YAML_VALUES:,} values (an event needs a few "
        "hundred): write the values out instead of repeating aliases"
    ]
    # today's loader peaks at 315 MB (and 13 s) on the 6-level bomb before it reports unrelated problems
    assert peak_bytes < 2_000_000, f"peak {peak_bytes / 1e6:.1f} MB"


def test_ordinary_aliases_still_work(event_dir: Path) -> None:
    path = event_dir / "event.yaml"
    text = path.read_text()
    assert "    hardware:\n" in text
    text = text.replace("    hardware:\n", "    hardware: &gpu_box\n", 1)
    path.write_text(text)
    assert load_event(path).servers[0].hardware.ram_gb > 0


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("event:\n  name: " + "[" * 5000 + "]" * 5000 + "\n", 2),
        ("event:\n" + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 3000)), MAX_YAML_DEPTH + 1),
    ],
    ids=["flow", "block"],
)
def test_nesting_past_the_limit_is_a_located_problem(text: str, line: int) -> None:
    assert problems(text) == [
        f"e.yaml:{line}: nested more than {MAX_YAML_DEPTH} levels deep (an event needs 5)"
    ]


def _deep_expression(event_dir: Path) -> Path:
    path = event_dir / "event.yaml"
    text = path.read_text().replace("  method: weighted ", "  method: expression ")
    text = text.replace("  weights: {performance: 0.5, impact: 0.5}\n", "")
    deep = "(" * 3000 + "accuracy" + ")" * 3000
    text = text.replace('  # expression: "accuracy - 0.05 * log10(gwp_g)"', f'  expression: "{deep}"')
    path.write_text(text)
    return path


def test_a_formula_nested_past_the_recursion_limit_is_a_located_problem(event_dir: Path) -> None:
    path = _deep_expression(event_dir)
    with pytest.raises(ConfigError) as info:
        load_event(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (32, "ranking.expression")
    assert "nests more than" in problem.message or "characters long" in problem.message


def test_check_config_exits_2_on_hostile_files(event_dir: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs(9))
    deep = tmp_path / "deep.yaml"
    deep.write_text("event: " + "[" * 5000 + "]" * 5000 + "\n")
    for path in (bomb, deep, _deep_expression(event_dir)):
        result = subprocess.run(
            [sys.executable, "-m", "greenhack.cli", "check-config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (path.name, result.returncode, result.stderr[-500:])
        assert f"{path}:" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(
    "bad",
    ["/srv/out/predictions.csv", "../predictions.csv", "out/../../predictions.csv", "out\\predictions.csv",
     "out//predictions.csv", "./", "preds\n.csv"],
)
def test_task_predictions_must_be_a_plain_relative_path(event_dir: Path, bad: str) -> None:
    path = event_dir / "event.yaml"
    text = path.read_text()
    assert "  predictions: predictions.csv" in text
    path.write_text(text.replace("  predictions: predictions.csv", f"  predictions: {bad!r}".replace("'", '"'), 1))
    with pytest.raises(ConfigError) as info:
        load_event(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (12, "task.predictions"), problem
    assert "relative path" in problem.message


def test_task_predictions_may_name_a_file_in_a_folder(event_dir: Path) -> None:
    path = event_dir / "event.yaml"
    path.write_text(path.read_text().replace("  predictions: predictions.csv", "  predictions: out/preds 1.csv"))
    assert load_event(path).task.predictions == "out/preds 1.csv"


# Python refuses to turn more than 4,300 digits into an int (ValueError); below that, a number past a float's range
# (about 10**308) breaks math.isfinite and every comparison with a float (OverflowError)
@pytest.mark.parametrize(
    ("digits", "written"),
    [("9" * 5000, "5000 digits"), ("9" * 4000, "4000 digits"), ("0x" + "f" * 400, "hexadecimal"),
     ("1" + ":0" * 200, "sexagesimal")],
)  # fmt: skip
def test_a_number_past_any_setting_s_range_is_a_located_problem(digits: str, written: str) -> None:
    found = problems(f"event:\n  name: x\nimpact:\n  pue: {digits}\n")
    assert found == [f"e.yaml:4: impact.pue: a number past 10^{MAX_YAML_INT_DIGITS}, larger than any value here may be"]


def test_check_config_exits_2_on_a_5000_digit_number(event_dir: Path) -> None:
    path = event_dir / "event.yaml"
    text = path.read_text()
    assert "pue: 1.3" in text
    path.write_text(text.replace("pue: 1.3", "pue: " + "9" * 5000, 1))
    result = subprocess.run(
        [sys.executable, "-m", "greenhack.cli", "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert f"{path}:" in result.stderr and "impact.pue: a number past 10^" in result.stderr
    assert "internal error" not in result.stderr
