"""Per-phase limits (issue 19): the budget check and the team page use the limits of the phase open now (its
``limits:`` over the event's) and count the total over that phase only; between two phases a job is refused
with the phase's sentence. PostgreSQL, the fake GitLab at its HTTP API, the platform's routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fb_world import World
from test_quotas import _check, _check_app, _event, _page_account, _seed

from greenhack.config import EventConfig
from greenhack.store.db import SessionFactory

PHASES = """
phases:
  - {name: practice, opens: 2026-01-01T09:00:00+01:00, closes: 2026-06-01T00:00:00+00:00}
  - name: final
    opens: 2026-06-02T00:00:00+00:00
    closes: 2030-12-31T17:00:00+01:00
    limits: {submissions_total: 2, submissions_per_day: 5}
"""
IN_FINAL = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def _phased(tmp_path: Path, world: World) -> EventConfig:
    return _event(tmp_path, world, per_day=2, limits={"submissions_total": 3}, extra_sections=PHASES)


def test_the_open_phase_s_limits_and_total_decide_and_the_team_page_agrees(
    tmp_path: Path, world: World, sessions: SessionFactory, postgres_url: str
) -> None:
    config = _phased(tmp_path, world)
    practice = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    # three practice submissions (the event-wide total of 3 would be used up) and one in the final phase
    _seed(sessions, config, world, [(11, practice, "scored"), (12, practice + timedelta(days=1), "scored"),
                                    (13, practice + timedelta(days=2), "scored"),
                                    (14, IN_FINAL - timedelta(hours=1), "scored")])  # fmt: skip
    _, token = world.running_job()
    answer = _check(_check_app(config, world, sessions, IN_FINAL), token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["submissions_total"], body["submissions_limit_total"], body["submissions_left_total"]) == (1, 2, 1)
    assert body["submissions_per_day"] == 5  # the final phase's own daily limit
    assert ", 1 of 2 in phase 'final'" in body["message"]
    total = next(q for q in body["quotas"] if q["key"] == "submissions_total")
    assert (total["starts_at"], total["ends_at"]) == (config.phases[1].opens.isoformat(),
                                                      config.phases[1].closes.isoformat())  # fmt: skip
    api, page = _page_account(config, world, sessions, postgres_url, IN_FINAL)
    assert (api["submissions_per_day"], api["submissions_left_total"]) == (5, 1)
    assert "left in phase &#39;final&#39; (of 2; 1 used)" in page

    _seed(sessions, config, world, [(15, IN_FINAL - timedelta(minutes=30), "scored")])
    refused = _check(_check_app(config, world, sessions, IN_FINAL), world.running_job()[1])
    assert refused.status_code == 403
    message = refused.json()["message"]
    assert "your team has used its 2 submissions of phase 'final' (3, 1 of them still running)" in message, message


def test_a_job_between_two_phases_is_refused_with_the_phase_s_sentence(
    tmp_path: Path, world: World, sessions: SessionFactory
) -> None:
    config = _phased(tmp_path, world)
    between = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    _, token = world.running_job()
    answer = _check(_check_app(config, world, sessions, between), token)
    assert answer.status_code == 403
    message = answer.json()["message"]
    assert "between phase 'practice' (closed at 2026-06-01T00:00:00+00:00) and phase 'final'" in message
    assert "submissions outside the phases are not run" in message
