"""The whole event, rehearsed: a harness that runs a simulated hackathon through the real platform with faults
and bad input, and measures what organisers must trust (nothing lost, nothing evaluated twice, no forged result,
latency to the board, board latency under load, memory). Used by ``bench/event_rehearsal.py`` and
``tests/rehearsal``; see :mod:`greenhack.rehearsal.scenario` for what is simulated and what runs in real time."""

from __future__ import annotations

from greenhack.rehearsal.report import RehearsalResult
from greenhack.rehearsal.run import run_rehearsal
from greenhack.rehearsal.scenario import Scenario, bench_scenario, make_plan, short_scenario

__all__ = ["RehearsalResult", "Scenario", "bench_scenario", "make_plan", "run_rehearsal", "short_scenario"]
