"""The submission job (component and plain include) under gitlab-ci-local in shell mode."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from gl_cilocal import ROOT, CiRun, TeamRepo

from greenhack.gitlab.joblog import MARK_PREFIX
from greenhack.gitlab.script_window import ScriptWindow, script_window

pytestmark = pytest.mark.slow

TEAM_ENTRY = """\
set -eu
test -f "$GREENHACK_INPUTS_DIR/test.csv"
echo "id,label" > "$GREENHACK_PREDICTIONS"
tail -n +2 "$GREENHACK_INPUTS_DIR/test.csv" | while IFS=, read -r id x; do
  if [ "$x" -gt 5 ]; then echo "$id,big"; else echo "$id,small"; fi
done >> "$GREENHACK_PREDICTIONS"
"""

COMPONENT_INCLUDE = """\
include:
  - component: $CI_SERVER_FQDN/{project}/submission@$CI_COMMIT_SHA
    inputs:
      runner_tag: green-ai-gpu-1
      job_timeout: {timeout}
"""


@pytest.fixture
def hidden_inputs(tmp_path: Path) -> Path:
    """The hidden test inputs, on the 'server' (outside any repository), as the runner provides them."""
    folder = tmp_path / "srv-greenhack-inputs"
    folder.mkdir()
    (folder / "test.csv").write_text("id,x\n1,3\n2,9\n3,6\n", encoding="utf-8")
    return folder


def _team(tmp_path: Path, *, entry: str = TEAM_ENTRY, timeout: str = "1m") -> TeamRepo:
    repo = TeamRepo(tmp_path / "team-a")
    repo.write("run.sh", entry)
    repo.add_component()
    repo.write(".gitlab-ci.yml", COMPONENT_INCLUDE.format(project=repo.project_path, timeout=timeout))
    repo.commit()
    return repo


def test_component_runs_the_entry_with_the_runners_inputs_and_keeps_the_predictions(
    tmp_path: Path, hidden_inputs: Path
) -> None:
    repo = _team(tmp_path)
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    assert run.returncode == 0, run.output
    assert "PASS  submission" in run.output
    predictions = run.artifact("submission", "predictions.csv")
    assert predictions.read_text(encoding="utf-8") == "id,label\n1,small\n2,big\n3,big\n"
    # nothing of the hidden inputs travels in the artifact
    assert sorted(p.name for p in (run.artifacts_dir / "submission").rglob("*") if p.is_file()) == [
        "predictions.csv"
    ]
    expanded = yaml.safe_load((repo.path / ".gitlab-ci-local" / "expanded-gitlab-ci.yml").read_text())
    job = expanded["submission"]
    assert job["tags"] == ["green-ai-gpu-1"]
    assert job["timeout"] == "1m"
    # the fact sheet is kept beside the predictions (issue 19); a repository without one keeps the predictions only
    assert job["artifacts"]["paths"] == ["predictions.csv", "factsheet.yaml"]
    assert "greenhack: no fact sheet factsheet.yaml in the repository" in run.output


def test_component_keeps_the_teams_fact_sheet_beside_the_predictions(tmp_path: Path, hidden_inputs: Path) -> None:
    repo = TeamRepo(tmp_path / "team-a")
    repo.write("run.sh", TEAM_ENTRY)
    sheet = "# answers to the event's fact sheet\nmodel_family: linear\nparameters: 650\nquantised: false\n"
    repo.write("docs/factsheet.yaml", sheet)
    repo.add_component()
    repo.write(".gitlab-ci.yml", COMPONENT_INCLUDE.format(project=repo.project_path, timeout="1m")
               + "      factsheet: docs/factsheet.yaml\n")  # fmt: skip
    repo.commit()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    assert run.returncode == 0, run.output
    assert "greenhack: keeping the fact sheet docs/factsheet.yaml" in run.output
    assert run.artifact("submission", "docs/factsheet.yaml").read_text(encoding="utf-8") == sheet
    assert run.artifact("submission", "predictions.csv").is_file()


def test_component_stops_an_entry_that_runs_past_the_job_timeout(tmp_path: Path, hidden_inputs: Path) -> None:
    repo = _team(tmp_path, entry='sleep 60\necho id,label > "$GREENHACK_PREDICTIONS"\n', timeout="2s")
    began = time.monotonic()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    assert time.monotonic() - began < 30
    assert run.returncode != 0
    assert "ran past limits.job_timeout (2s)" in run.output
    assert not run.artifact("submission", "predictions.csv").exists()


def test_component_refuses_to_run_where_the_runner_provides_no_inputs(tmp_path: Path) -> None:
    run = _team(tmp_path).run(variables={})
    assert run.returncode != 0
    assert "the runner did not provide the hidden inputs" in run.output
    assert not run.artifact("submission", "predictions.csv").exists()


def test_component_fails_when_the_entry_writes_no_predictions(tmp_path: Path, hidden_inputs: Path) -> None:
    run = _team(tmp_path, entry="echo training only\n").run(
        variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)}
    )
    assert run.returncode != 0
    assert "did not write predictions.csv" in run.output


def test_plain_include_form_runs_the_same_job(tmp_path: Path, hidden_inputs: Path) -> None:
    repo = TeamRepo(tmp_path / "team-b", project_path="green-ai-hack-2026/team-b")
    repo.write("run.sh", TEAM_ENTRY)
    repo.write(
        "ci/submission.gitlab-ci.yml", (ROOT / "ci-templates" / "submission.gitlab-ci.yml").read_text()
    )
    repo.write(".gitlab-ci.yml", "include:\n  - local: ci/submission.gitlab-ci.yml\n")
    repo.commit()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    assert run.returncode == 0, run.output
    assert run.artifact("submission", "predictions.csv").read_text().startswith("id,label\n1,small\n")


def _component_rendered(inputs: dict[str, str]) -> dict[str, object]:
    text = (ROOT / "ci-templates" / "templates" / "submission.yml").read_text(encoding="utf-8")
    header, body = text.split("\n---\n", 1)
    spec = yaml.safe_load(header)["spec"]["inputs"]
    values = {name: inputs.get(name, spec[name].get("default")) for name in spec}
    for name, value in values.items():
        assert value is not None, f"input {name} needs a value"
        body = body.replace(f"$[[ inputs.{name} ]]", str(value))
    assert "$[[" not in body
    loaded = yaml.safe_load(body)
    assert isinstance(loaded, dict)
    return loaded


def test_plain_form_is_the_component_rendered_with_the_example_events_values() -> None:
    plain = yaml.safe_load((ROOT / "ci-templates" / "submission.gitlab-ci.yml").read_text(encoding="utf-8"))
    assert plain == _component_rendered({"runner_tag": "green-ai-gpu-1", "job_timeout": "20m"})


def test_example_pipeline_uses_the_component_with_the_example_events_values() -> None:
    from greenhack.config import load_event

    event = load_event(ROOT / "examples" / "event.yaml")
    pipeline = yaml.safe_load(
        (ROOT / "ci-templates" / "examples" / "pipeline.yml").read_text(encoding="utf-8")
    )
    (include,) = pipeline["include"]
    assert include["component"].endswith("/submission@main")
    assert include["inputs"]["runner_tag"] in event.servers[0].runner_tags
    assert include["inputs"]["predictions"] == event.task.predictions
    assert include["inputs"]["job_timeout"] == "20m"
    assert event.limits.job_timeout.total_seconds() == 20 * 60


def test_every_component_keeps_the_fact_sheet_it_is_given() -> None:
    # the default is the YAML's default factsheet.file, and the predictions job keeps it as an artifact
    from greenhack.config import FactsheetSection

    default = FactsheetSection.model_fields["file"].default
    for path in sorted((ROOT / "ci-templates" / "templates").glob("*.yml")):
        header, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
        assert yaml.safe_load(header)["spec"]["inputs"]["factsheet"]["default"] == default, path.name
        assert "      - $[[ inputs.predictions ]]\n      - $[[ inputs.factsheet ]]\n" in body, path.name


# --- the marks around the team's command -------------------------------------------------------------------------


def _job_log(run: CiRun, job: str) -> str:
    """The job's own output lines as gitlab-ci-local shows them (``<job> > line``), i.e. its log without the runner's
    headers (gitlab-ci-local writes none: the marks' own times are what there is); names are padded to one width."""
    prefix = re.compile(rf"^{re.escape(job)} *> ")
    return "".join(
        line[match.end() :] + "\n" for line in run.output.splitlines() if (match := prefix.match(line)) is not None
    )


def _window(run: CiRun, job: str, began: datetime, ended: datetime) -> ScriptWindow:
    return script_window(_job_log(run, job), api_start=began, api_end=ended)


def test_component_prints_the_marks_right_around_the_entry_and_they_parse(tmp_path: Path, hidden_inputs: Path) -> None:
    # the entry leaves a partial line behind: the end mark still starts a line of its own
    entry = 'sleep 1.5\nprintf "no line feed"\n' + TEAM_ENTRY.replace("set -eu\n", "")
    repo = _team(tmp_path, entry=entry)
    began = datetime.now(UTC)
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    ended = datetime.now(UTC)
    assert run.returncode == 0, run.output
    log = _job_log(run, "submission")
    assert log.count(f"{MARK_PREFIX}:start:script:") == 1 and log.count(f"{MARK_PREFIX}:end:script:") == 1
    assert "no line feed\n" in log
    window = _window(run, "submission", began, ended)
    assert window.fallback is None and window.phases == ("script",)
    assert (window.start.source, window.end.source) == ("mark", "mark")
    assert window.resolution_s == 1e-6  # GNU date: nanoseconds, kept to the microsecond
    assert window.duration_s >= 1.5  # the entry's sleep is inside the window
    assert not window.start.clamped and not window.end.clamped  # both marks printed inside the job
    # the budget check, the input checks and the predictions check are outside the window
    lines = log.splitlines()
    first_mark = next(i for i, line in enumerate(lines) if line.startswith(MARK_PREFIX))
    assert any("running the entry command" in line for line in lines[:first_mark])
    assert any("wrote predictions.csv" in line for line in lines[first_mark + 2 :])


def test_component_prints_the_end_mark_when_the_entry_fails_or_runs_past_the_limit(
    tmp_path: Path, hidden_inputs: Path
) -> None:
    repo = _team(tmp_path, entry="sleep 60\n", timeout="2s")
    began = datetime.now(UTC)
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    ended = datetime.now(UTC)
    assert run.returncode != 0
    window = _window(run, "submission", began, ended)
    assert window.fallback is None and not window.end.clamped  # the end mark printed, inside the job
    # the window holds the 2 s the entry was given, and the entry's 60 s sleep was cut short (a proof that the
    # limit stopped it, not a speed requirement)
    assert 2.0 <= window.duration_s < 60.0


def test_component_sets_ff_timestamps_for_the_runner() -> None:
    for path in ("templates/submission.yml", "templates/train-predict.yml", "submission.gitlab-ci.yml"):
        text = (ROOT / "ci-templates" / path).read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[-1]
        loaded = yaml.safe_load(body.replace("$[[ inputs.job_name ]]", "submission"))
        measured = [job for name, job in loaded.items() if isinstance(job, dict) and "variables" in job]
        assert measured and all(job["variables"]["FF_TIMESTAMPS"] == "true" for job in measured), path


def test_train_predict_component_marks_each_phase(tmp_path: Path, hidden_inputs: Path) -> None:
    repo = TeamRepo(tmp_path / "team-c", project_path="green-ai-hack-2026/team-c")
    repo.write("train.sh", 'sleep 1\necho 5 > "$GREENHACK_MODEL_DIR/threshold"\n')
    repo.write("predict.sh", TEAM_ENTRY)
    target = repo.path / "templates"
    target.mkdir()
    (target / "train-predict.yml").write_text(
        (ROOT / "ci-templates" / "templates" / "train-predict.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    repo.write(
        ".gitlab-ci.yml",
        "include:\n  - component: $CI_SERVER_FQDN/green-ai-hack-2026/team-c/train-predict@$CI_COMMIT_SHA\n"
        "    inputs:\n      runner_tag: green-ai-gpu-1\n      job_timeout: 1m\n",
    )
    repo.commit()
    began = datetime.now(UTC)
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    ended = datetime.now(UTC)
    assert run.returncode == 0, run.output
    train = _window(run, "submission-train", began, ended)
    predict = _window(run, "submission-predict", began, ended)
    assert (train.phases, predict.phases) == (("train",), ("predict",))
    assert train.fallback is None and predict.fallback is None
    assert train.duration_s >= 1.0 and train.end.at <= predict.start.at
