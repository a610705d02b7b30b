"""Which phase a submission belongs to, what each phase inherits from the event, and when its private rows are
shown (issue 19, phases); an event without phases is one implicit phase, as before."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from competition_support import CONTRACT, EXAMPLE, at

from greenhack.competition import current_phase, event_phases, final_phase, phase_at, phase_named
from greenhack.config import EventConfig, load_event


def test_an_event_without_phases_is_one_phase_that_holds_every_job() -> None:
    config = load_event(CONTRACT)
    (phase,) = event_phases(config)
    assert phase.implicit and phase.name == ""
    assert (phase.opens, phase.closes, phase.freeze) == (config.event.opens, config.event.closes, config.event.freeze)
    assert phase.truth_path == config.truth_path and phase.limits == config.limits and phase.ranking == config.ranking
    assert phase.final_shown_at == config.event.closes
    # as before phases existed: a job is ranked whatever its time (the budget check refuses those outside)
    for created in (config.event.opens - timedelta(days=3), config.event.closes + timedelta(days=3)):
        membership = phase_at(event_phases(config), created)
        assert membership.phase == phase and membership.code == "in_phase" and membership.reason is None


def test_a_job_belongs_to_the_phase_open_at_its_created_at(config: EventConfig) -> None:
    phases = event_phases(config)
    practice, final = phases
    assert phase_at(phases, at(1, 9)).phase is practice  # the very opening
    assert phase_at(phases, at(1, 17, 59)).phase is practice
    assert phase_at(phases, at(1, 18)).phase is final  # one closes as the next opens: the next one's
    assert phase_at(phases, at(2, 16, 59)).phase is final
    # the time zone of GitLab's created_at does not matter (it is UTC in the API)
    assert phase_at(phases, datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)).phase is final


def test_a_job_outside_every_phase_says_why(config: EventConfig) -> None:
    phases = event_phases(config)
    before = phase_at(phases, at(1, 8, 30))
    assert before.phase is None and before.code == "before_first"
    assert before.reason == (
        "the job was created at 2026-12-01T08:30:00+01:00, before the event's first phase; phase 'practice' "
        "opens at 2026-12-01T09:00:00+01:00"
    )
    after = phase_at(phases, at(2, 17))
    assert after.phase is None and after.code == "after_last"
    assert after.reason is not None and "after the event's last phase (phase 'final') closed at 2026-12-02T17" in after.reason
    with pytest.raises(ValueError, match="timezone-aware"):
        phase_at(phases, datetime(2026, 12, 1, 10))


def test_a_job_between_two_phases_names_both(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["phases"][0]["closes"] = at(1, 17)  # an hour's break before the final phase
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    (tmp_path / "event.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    phases = event_phases(load_event(tmp_path / "event.yaml"))
    gap = phase_at(phases, at(1, 17, 30))
    assert gap.phase is None and gap.code == "between_phases"
    assert gap.reason == (
        "the job was created at 2026-12-01T17:30:00+01:00, between phase 'practice' (closed at "
        "2026-12-01T17:00:00+01:00) and phase 'final' (opens at 2026-12-01T18:00:00+01:00); it belongs to no phase"
    )
    assert current_phase(phases, at(1, 17, 30)) is None


def test_each_phase_gets_the_events_keys_it_does_not_set(config: EventConfig) -> None:
    practice, final = event_phases(config)
    assert practice.truth_path == config.truth_path
    assert final.truth_path == EXAMPLE.parent / "secrets" / "final-truth.csv"
    assert practice.ranking.per_team == "best" and final.ranking.per_team == "selected"
    assert final.ranking.method == config.ranking.method and final.ranking.weights == config.ranking.weights
    assert practice.freeze is None and final.freeze == at(2, 16)
    assert (practice.index, final.index) == (0, 1) and not practice.implicit


def test_private_rows_wait_for_the_last_phase_that_scores_them(config: EventConfig, tmp_path: Path) -> None:
    # the example: the final phase has its own truth, so the practice phase's final board is shown at its close
    practice, final = event_phases(config)
    assert practice.final_shown_at == practice.closes and final.final_shown_at == final.closes
    # both phases on task.truth: the practice phase's private rows would give away the final phase's
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del data["phases"][1]["truth"]
    shutil.copytree(EXAMPLE.parent / "secrets", tmp_path / "secrets")
    (tmp_path / "event.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    practice, final = event_phases(load_event(tmp_path / "event.yaml"))
    assert practice.final_shown_at == final.closes


def test_current_named_and_final_phase(config: EventConfig) -> None:
    phases = event_phases(config)
    assert current_phase(phases, at(1, 12)) is phases[0] and current_phase(phases, at(2, 12)) is phases[1]
    assert current_phase(phases, at(2, 18)) is None
    assert phase_named(phases, "final") is phases[1] and final_phase(phases) is phases[1]
    with pytest.raises(KeyError, match="no phase 'warmup' in the event \\(known: 'practice', 'final'\\)"):
        phase_named(phases, "warmup")
