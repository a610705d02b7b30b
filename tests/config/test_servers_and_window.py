"""Servers by runner (config keys, check-config, the pure choice) and the window/clock keys of telemetry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenhack.config import EventConfig, load_event, parse_event
from greenhack.errors import ConfigError, JobNotMeasurable
from greenhack.gitlab.models import CiJob
from greenhack.gitlab.server_choice import choose_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "event.yaml"
TWO_SERVERS = EXAMPLE.with_name("two-servers.yaml")


def _event(tmp_path: Path, servers: list[dict[str, Any]], **telemetry: Any) -> str:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["servers"] = servers
    data["telemetry"].update(telemetry)
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    text = yaml.safe_dump(data, sort_keys=False)
    (tmp_path / "event.yaml").write_text(text, encoding="utf-8")
    return text


def _server(name: str, *, tags: list[str] | None = None, runners: list[object] | None = None, **extra: Any) -> dict:
    entry: dict[str, Any] = {
        "name": name,
        "runner_tags": ["green-ai-gpu"] if tags is None else tags,
        "scaphandre": f'{{instance="{name}:8080"}}',
        "hardware": {"cpu": {"name": "Intel Xeon Gold 6248"}, "ram_gb": 64},
        **extra,
    }
    if runners is not None:
        entry["runners"] = runners
    return entry


def _load(tmp_path: Path, servers: list[dict[str, Any]], **telemetry: Any) -> EventConfig:
    _event(tmp_path, servers, **telemetry)
    return load_event(tmp_path / "event.yaml")


def _problems(tmp_path: Path, servers: list[dict[str, Any]], **telemetry: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, servers, **telemetry)
    return [str(p) for p in info.value.problems]


# --- config ------------------------------------------------------------------------------------------------------


def test_the_contract_example_gets_the_window_and_clock_defaults() -> None:
    telemetry = load_event(EXAMPLE).telemetry
    assert (telemetry.window, telemetry.window_fallback) == ("script", "review")
    assert telemetry.max_clock_offset == timedelta(milliseconds=500)
    assert telemetry.require_clock_offset is False


def test_the_two_server_example_documents_the_window_runner_and_clock_keys() -> None:
    config = load_event(TWO_SERVERS)
    assert config.telemetry.require_clock_offset is True
    assert [s.runner_tags for s in config.servers] == [["green-ai-gpu"], ["green-ai-gpu"]]
    assert [s.runners for s in config.servers] == [["green-ai-gpu-1"], ["green-ai-gpu-2"]]
    assert config.servers[0].node_exporter == '{instance="gpu-1:9100"}'
    text = TWO_SERVERS.read_text(encoding="utf-8")
    for key in ("window:", "window_fallback:", "max_clock_offset:", "require_clock_offset:", "node_exporter:",
                "runners:"):
        assert key in text, key


def test_a_tag_shared_by_servers_is_refused_unless_they_list_their_runners(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [_server("gpu-1"), _server("gpu-2")])
    assert any("servers[1].runner_tags: runner tag 'green-ai-gpu' also sends jobs to server 'gpu-1'" in p
               and "servers[].runners" in p for p in problems), problems
    # one of the two lists its runners: still refused (the other's jobs could not be told apart)
    assert _problems(tmp_path, [_server("gpu-1", runners=[12]), _server("gpu-2")])
    config = _load(tmp_path, [_server("gpu-1", runners=[12, "gpu-1 runner"]), _server("gpu-2", runners=[13])])
    assert config.servers[0].runners == [12, "gpu-1 runner"] and config.servers[1].runners == [13]


def test_a_runner_listed_on_two_servers_is_refused_with_its_place(tmp_path: Path) -> None:
    text = _event(tmp_path, [_server("gpu-1", runners=[12, "shared"]), _server("gpu-2", runners=[13, " shared"])])
    problems = _problems(tmp_path, [_server("gpu-1", runners=[12, "shared"]), _server("gpu-2", runners=[13, " shared"])])
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "' shared'" in row or row.strip() == "- ' shared'")
    assert any(f":{line}: servers[1].runners[1]: runner ' shared' is also listed on server 'gpu-1'" in p
               for p in problems), problems


@pytest.mark.parametrize(
    ("runners", "message"),
    [([True], "a runner is its id"), ([0], "not a GitLab runner id"), (["  "], "must not be empty")],
)
def test_runner_entries_are_ids_or_descriptions(tmp_path: Path, runners: list[object], message: str) -> None:
    problems = _problems(tmp_path, [_server("gpu-1", runners=runners)])
    assert any("servers[0].runners[0]" in p and message in p for p in problems), problems


def test_a_server_with_runners_but_no_tags_is_referenced(tmp_path: Path) -> None:
    config = _load(tmp_path, [_server("gpu-1", tags=[], runners=[12])])
    assert config.servers[0].runner_tags == []


def test_window_keys_are_checked(tmp_path: Path) -> None:
    servers = [_server("gpu-1")]
    assert any("telemetry.window: Input should be 'script' or 'job'" in p
               for p in _problems(tmp_path, servers, window="api"))
    assert any("telemetry.window_fallback: Input should be 'review' or 'rank'" in p
               for p in _problems(tmp_path, servers, window_fallback="ignore"))
    assert any("telemetry.max_clock_offset: '-1s' is not a duration" in p
               for p in _problems(tmp_path, servers, max_clock_offset="-1s"))
    config = _load(tmp_path, servers, window="job", max_clock_offset="2s", window_fallback="rank")
    assert config.telemetry.max_clock_offset == timedelta(seconds=2) and config.telemetry.window == "job"


def test_requiring_a_clock_offset_needs_a_node_exporter_on_every_server(tmp_path: Path) -> None:
    problems = _problems(tmp_path, [_server("gpu-1", node_exporter='{instance="gpu-1:9100"}'),
                                    _server("gpu-2", tags=["other"])], require_clock_offset=True)
    assert len(problems) == 1 and "servers[1]: telemetry.require_clock_offset is true" in problems[0], problems
    assert "node_exporter" in problems[0]


# --- the choice of a job's server ---------------------------------------------------------------------------------


def _job(*, runner: dict[str, Any] | None, tags: list[str]) -> CiJob:
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    return CiJob.from_api(
        {
            "id": 77,
            "name": "submission",
            "status": "success",
            "stage": "test",
            "ref": "main",
            "started_at": start.isoformat(),
            "finished_at": (start + timedelta(seconds=60)).isoformat(),
            "tag_list": tags,
            "runner": runner,
            "pipeline": {"id": 5, "project_id": 9, "sha": "abc"},
            "web_url": "https://gitlab.example.org/grp/team-a/-/jobs/77",
        }
    )


def _runner(rid: int, description: str, runner_type: str = "group_type") -> dict[str, Any]:
    # the `runner` of GET /projects/:id/jobs/:job_id as GitLab documents it (doc/api/jobs.md)
    return {"id": rid, "description": description, "ip_address": None, "active": True, "paused": False,
            "is_shared": False, "runner_type": runner_type, "name": None, "online": True, "status": "online"}


TWO = [
    _server("gpu-1", runners=[12]),
    _server("gpu-2", runners=["gpu-2 runner"]),
]


def _config(tmp_path: Path, servers: list[dict[str, Any]]) -> EventConfig:
    return _load(tmp_path, servers)


def test_two_servers_behind_one_tag_each_job_goes_to_the_server_whose_runner_ran_it(tmp_path: Path) -> None:
    config = _config(tmp_path, TWO)
    first = choose_server(_job(runner=_runner(12, "whatever"), tags=["green-ai-gpu"]), config.servers)
    second = choose_server(_job(runner=_runner(13, "gpu-2 runner"), tags=["green-ai-gpu"]), config.servers)
    assert (first.server and first.server.name, first.code) == ("gpu-1", "by_runner")
    assert (second.server and second.server.name, second.code) == ("gpu-2", "by_runner")


def test_a_job_whose_runner_is_on_no_server_gets_a_clear_reason(tmp_path: Path) -> None:
    config = _config(tmp_path, TWO)
    choice = choose_server(_job(runner=_runner(99, "rogue"), tags=["green-ai-gpu"]), config.servers)
    assert choice.server is None and choice.code == "runner_on_no_server"
    assert choice.reason is not None and "runner #99 ('rogue')" in choice.reason and "gpu-1, gpu-2" in choice.reason
    with pytest.raises(JobNotMeasurable, match="no server lists among its runners"):
        choice.require()


def test_a_tag_naming_one_server_still_works_and_project_runners_are_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, [_server("gpu-1", tags=["t1"]), _server("gpu-2", tags=["t2"])])
    choice = choose_server(_job(runner=_runner(5, "r"), tags=["t2", "docker"]), config.servers)
    assert (choice.server and choice.server.name, choice.code) == ("gpu-2", "by_tag")
    refused = choose_server(_job(runner=_runner(5, "r", "project_type"), tags=["t2"]), config.servers)
    assert refused.server is None and refused.code == "project_runner" and "project runner #5" in (refused.reason or "")
    # even a listed runner: a project runner is the team's, never the event's
    listed = _config(tmp_path, [_server("gpu-1", runners=[5])])
    assert choose_server(_job(runner=_runner(5, "r", "project_type"), tags=[]), listed.servers).code == "project_runner"


@pytest.mark.parametrize(
    ("runner", "tags", "code"),
    [
        (None, ["t1"], "no_runner"),
        (_runner(5, "r"), ["nothing"], "no_measured_tag"),
        (_runner(5, "r"), ["t1", "t2"], "tags_of_several_servers"),
    ],
)
def test_jobs_that_cannot_be_attributed(tmp_path: Path, runner: dict[str, Any] | None, tags: list[str],
                                        code: str) -> None:
    config = _config(tmp_path, [_server("gpu-1", tags=["t1"]), _server("gpu-2", tags=["t2"])])
    choice = choose_server(_job(runner=runner, tags=tags), config.servers)
    assert choice.server is None and choice.code == code and choice.reason


def test_a_runner_not_listed_by_the_one_tagged_server_is_not_taken_for_it(tmp_path: Path) -> None:
    config = _config(tmp_path, [_server("gpu-1", tags=["t1"], runners=[12])])
    choice = choose_server(_job(runner=_runner(13, "other"), tags=["t1"]), config.servers)
    assert choice.server is None and choice.code == "runner_not_on_tagged_server"


def test_a_runner_named_by_id_on_one_server_and_description_on_another_is_not_guessed() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["task"]["truth"] = str(EXAMPLE.parent / "secrets" / "truth.csv")
    data["servers"] = [_server("gpu-1", runners=[12]), _server("gpu-2", runners=["gpu-x"])]
    config = parse_event(yaml.safe_dump(data))
    choice = choose_server(_job(runner=_runner(12, "gpu-x"), tags=[]), config.servers)
    assert choice.server is None and choice.code == "runner_on_several_servers"
