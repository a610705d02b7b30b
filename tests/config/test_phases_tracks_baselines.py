"""The YAML of phases, hardware tracks and baselines (issue 19): examples/phases-and-tracks.yaml means what its
comments say, and check-config locates each of its problems as ``FILE:LINE: key: message``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.config import full_project_path
from greenhack.errors import ConfigError
from greenhack.preflight import load_checked_event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "phases-and-tracks.yaml"
CONTRACT = ROOT / "examples" / "event.yaml"


def test_check_config_accepts_the_example() -> None:
    result = CliRunner().invoke(app, ["check-config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "phase      practice: 2026-12-01T09:00:00+01:00 → 2026-12-01T18:00:00+01:00" in result.output
    assert "baseline   Logistic regression: green-ai-hack-2026/baselines/logreg (never ranked)" in result.output
    assert "track h100" in result.output


def test_the_example_means_what_its_comments_say() -> None:
    config = load_checked_event(EXAMPLE)
    practice, final = config.phases
    assert (practice.name, final.name) == ("practice", "final")
    assert practice.closes == final.opens and final.freeze is not None
    assert practice.truth is None and final.truth == Path("secrets/final-truth.csv")
    # a phase's limits are the keys it wrote, nothing else
    assert practice.limits is not None and practice.limits.model_fields_set == {"submissions_per_day"}
    assert final.per_team == "selected" and practice.per_team is None
    assert [s.track for s in config.servers] == ["a100", "a100", "h100"]
    assert [b.label for b in config.baselines] == ["Logistic regression", "small-cnn"]
    assert [full_project_path(b.project, group="green-ai-hack-2026") for b in config.baselines] == [
        "green-ai-hack-2026/baselines/logreg",
        "green-ai-hack-2026/baselines/small-cnn",
    ]


def test_the_contract_has_no_phase_track_or_baseline() -> None:
    config = load_checked_event(CONTRACT)
    assert config.phases == [] and config.baselines == [] and all(s.track is None for s in config.servers)


@pytest.mark.parametrize(
    ("project", "full"),
    [
        ("baselines/logreg", "green-ai-hack-2026/baselines/logreg"),
        ("green-ai-hack-2026/logreg", "green-ai-hack-2026/logreg"),
        ("Green-AI-Hack-2026/logreg", "Green-AI-Hack-2026/logreg"),  # GitLab paths compare case-insensitively
        ("green-ai-hack-2026-old/logreg", "green-ai-hack-2026/green-ai-hack-2026-old/logreg"),  # not the group
    ],
)
def test_a_baseline_path_is_below_the_group_unless_it_starts_with_it(project: str, full: str) -> None:
    assert full_project_path(project, group="green-ai-hack-2026") == full
    assert full_project_path(project, group=None) == project


@dataclass(frozen=True)
class Case:
    """Edits of the example (text replacements, truth files) and the one problem they must produce:
    ``expected`` is ``FILE:LINE: key: message`` with ``{yaml}``/``{final}`` for the files and ``{line}`` for the
    line of the first row starting with ``line_of``."""

    id: str
    replace: tuple[tuple[str, str], ...] = ()
    final_truth: str | None = None
    line_of: str = ""
    expected: str = ""


FINAL_OPENS = "    opens: 2026-12-01T18:00:00+01:00    # a job created at this very moment is the final phase's"
GPU2_TRACK = "    track: a100                         # same CPU and GPU (model and count) as gpu-1: one track may hold both"

CASES = [
    Case(
        "phases-overlap",
        replace=((FINAL_OPENS, "    opens: 2026-12-01T17:00:00+01:00"),),
        line_of="    opens: 2026-12-01T17:00",
        expected="{yaml}:{line}: phases[1].opens: 2026-12-01T17:00:00+01:00 is before phases[0] ('practice') closes "
        "(2026-12-01T18:00:00+01:00): list the phases in time order",
    ),
    Case(
        "phase-before-the-event",
        replace=(("    opens: 2026-12-01T09:00:00+01:00\n    closes: 2026-12-01T18", "    opens: 2026-12-01T08:00:00+01:00\n    closes: 2026-12-01T18"),),
        line_of="    opens: 2026-12-01T08:00",
        expected="{yaml}:{line}: phases[0].opens: is before event.opens (2026-12-01T09:00:00+01:00)",
    ),
    Case(
        "phase-after-the-event",
        replace=(("    closes: 2026-12-02T17:00:00+01:00\n    freeze", "    closes: 2026-12-02T18:00:00+01:00\n    freeze"),),
        line_of="    closes: 2026-12-02T18:00",
        expected="{yaml}:{line}: phases[1].closes: is after event.closes (2026-12-02T17:00:00+01:00)",
    ),
    Case(
        "phase-closes-before-it-opens",
        replace=(("    closes: 2026-12-01T18:00:00+01:00", "    closes: 2026-12-01T08:30:00+01:00"),),
        line_of="    closes: 2026-12-01T08:30",
        expected="{yaml}:{line}: phases[0].closes: must be after the phase's opens",
    ),
    Case(
        "phase-freeze-outside-it",
        replace=(("    freeze: 2026-12-02T16:00:00+01:00", "    freeze: 2026-12-01T12:00:00+01:00"),),
        line_of="    freeze: 2026-12-01T12",
        expected="{yaml}:{line}: phases[1].freeze: must lie between the phase's opens and closes",
    ),
    Case(
        "phase-names-twice",
        replace=(("  - name: final", "  - name: practice"),),
        line_of="  - name: practice\n",
        expected="{yaml}:{line}: phases[1].name: phase name 'practice' is used twice (also phases[0])",
    ),
    Case(
        "phase-name-not-a-key",
        replace=(("  - name: final", "  - name: Final Phase"),),
        line_of="  - name: Final Phase",
        expected="{yaml}:{line}: phases[1].name: 'Final Phase' must be 1 to 40 lower-case letters",
    ),
    Case(
        "event-freeze-beside-phases",
        replace=(("  # no event.freeze: with phases", "  freeze: 2026-12-02T16:00:00+01:00\n  # with phases"),),
        line_of="  freeze: 2026-12-02T16",
        expected="{yaml}:{line}: event.freeze: is not read when the event has phases",
    ),
    Case(
        "phase-truth-missing",
        replace=(("truth: secrets/final-truth.csv", "truth: secrets/final.csv"),),
        line_of="    truth: secrets/final.csv",
        expected="{yaml}:{line}: phases[1].truth: truth file 'secrets/final.csv' (relative to the YAML file's "
        "folder) does not exist",
    ),
    Case(
        "phase-truth-invalid",
        final_truth="id,label\n201,cat\n202,dog\n201,cat\n",
        expected="{final}:4: task.truth: id '201' appears twice",
    ),
    Case(
        "phase-limits-unknown-key",
        replace=(("limits: {submissions_per_day: 5}", "limits: {submissions_per_hour: 5}"),),
        line_of="    limits: {submissions_per_hour",
        expected="{yaml}:{line}: phases[1].limits.submissions_per_hour: unknown key",
    ),
    Case(
        "phase-limits-job-timeout-form",
        replace=(("limits: {submissions_per_day: 5}", "limits: {job_timeout: 1h30m}"),),
        line_of="    limits: {job_timeout",
        expected="{yaml}:{line}: phases[1].limits.job_timeout: '1h30m': the CI component accepts a whole number",
    ),
    Case(
        "track-holds-different-hardware",
        replace=((GPU2_TRACK, "    track: h100"),),
        line_of="    track: h100   ",
        expected="{yaml}:{line}: servers[2].track: track 'h100' also holds server 'gpu-2' (2x Intel Xeon Gold 6248 "
        "+ 1x NVIDIA A100 80GB), whose CPU or GPU differs from this one's",
    ),
    Case(
        "a-server-without-a-track",
        replace=((GPU2_TRACK + "\n", ""),),
        line_of="  - name: gpu-2",
        expected="{yaml}:{line}: servers[1]: names no track, but servers[0] does",
    ),
    Case(
        "track-name-not-a-key",
        replace=(("    track: h100   ", "    track: H100   "),),
        line_of="    track: H100",
        expected="{yaml}:{line}: servers[2].track: 'H100' must be 1 to 40 lower-case letters",
    ),
    Case(
        "baseline-twice-by-two-spellings",
        replace=(("green-ai-hack-2026/baselines/small-cnn", "Green-AI-Hack-2026/Baselines/LogReg"),),
        line_of="  - project: Green-AI",
        expected="{yaml}:{line}: baselines[1].project: project 'Green-AI-Hack-2026/Baselines/LogReg' is listed twice "
        "(also baselines[0])",
    ),
    Case(
        "baseline-labels-twice",
        replace=(
            ("    name: Logistic regression           # the badge's label (default: the project's last path segment)\n", ""),
            ("green-ai-hack-2026/baselines/small-cnn", "other/logreg"),
        ),
        line_of="  - project: other/logreg",
        expected="{yaml}:{line}: baselines[1]: label 'logreg' is also baselines[0]'s: give each baseline a name",
    ),
    Case(
        "baseline-is-the-group",
        replace=(("green-ai-hack-2026/baselines/small-cnn", "green-ai-hack-2026"),),
        line_of="  - project: green-ai-hack-2026 ",
        expected="{yaml}:{line}: baselines[1].project: 'green-ai-hack-2026' is the event's group, not a project in it",
    ),
    Case(
        "baseline-path-not-a-gitlab-path",
        replace=(("baselines/logreg ", "baselines/log reg "),),
        line_of="  - project: baselines/log reg",
        expected="{yaml}:{line}: baselines[0].project: 'baselines/log reg' is not a GitLab project path: 'log reg'",
    ),
]


def _event(tmp_path: Path, case: Case) -> tuple[Path, Path, str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in case.replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    final = tmp_path / "secrets" / "final-truth.csv"
    if case.final_truth is not None:
        final.write_text(case.final_truth, encoding="utf-8")
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    return path, final, text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_config_locates(tmp_path: Path, case: Case) -> None:
    path, final, text = _event(tmp_path, case)
    line = text[: text.index(case.line_of)].count("\n") + 1 if case.line_of else 0
    expected = case.expected.format(yaml=path, final=final, line=line)
    with pytest.raises(ConfigError) as info:
        load_checked_event(path)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_servers_of_different_hardware_need_tracks(tmp_path: Path) -> None:
    # the same file without any track: the A100 and H100 servers would be ranked against each other
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = [row for row in text.splitlines(keepends=True) if not row.startswith("    track:")]
    path = tmp_path / "event.yaml"
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_checked_event(path)
    (problem,) = info.value.problems
    assert problem.path == "servers[2].hardware"
    assert problem.message.startswith(
        "2x Intel Xeon Gold 6248 + 1x NVIDIA H100 SXM 80GB differs from server 'gpu-1' (2x Intel Xeon Gold 6248 + "
        "1x NVIDIA A100 80GB): jobs on different hardware must not be ranked against each other"
    )


def test_a_phase_limit_overrides_only_its_keys() -> None:
    config = load_checked_event(EXAMPLE)
    from greenhack.competition import event_phases  # noqa: PLC0415

    practice, final = event_phases(config)
    assert practice.limits.submissions_per_day == 20 and final.limits.submissions_per_day == 5
    assert practice.limits.job_timeout == final.limits.job_timeout == timedelta(minutes=20)
    assert practice.limits.carbon_budget_g == final.limits.carbon_budget_g == 500


def test_an_empty_phase_list_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start, end = text.index("\nphases:") + 1, text.index("\nbaselines:") + 1
    text = text[:start] + "phases: []\n\n" + text[end:]
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_checked_event(path)
    line = text[:start].count("\n") + 1
    assert [str(p) for p in info.value.problems] == [
        f"{path}:{line}: phases: lists no phase: list at least one, or leave phases out (one phase)"
    ]
