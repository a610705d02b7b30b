"""The rehearsed event, planned up front: teams, servers, every job's window and power, faults and bad inputs.

Time compression (stated in the bench's output):

* **Replayed jobs** ran in the simulated past: their windows are laid out over the ``simulated_days`` before the
  rehearsal starts, one server at a time without overlap, and their exporters' scrapes are backfilled into
  Prometheus (``promtool``), so each job's true energy is known exactly. Their webhooks are replayed in real time,
  compressed: the two days are announced over ``replay_s`` real seconds, in the order the jobs finished.
* **Live jobs** run in real time at the end of the event: the same simulated exporters serve them on live
  ``/metrics`` that Prometheus scrapes every ``scrape_interval_s``; their webhook is sent when they end, so their
  latency includes the real wait for Prometheus to scrape past the window.
* Everything else is real: the fake GitLab's HTTP API and webhooks, the ``greenhack serve`` and ``greenhack
  worker`` processes, PostgreSQL, Prometheus, BoaviztAPI, and the faults (a real Prometheus restart, a real
  SIGKILL, real ``pg_terminate_backend``); BoaviztAPI's five-minute outage is scaled to ``boavizta_down_s``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BAD_KINDS",
    "DAY_S",
    "Delivery",
    "FaultPlan",
    "JobKind",
    "JobPlan",
    "Plan",
    "Scenario",
    "bench_scenario",
    "make_plan",
    "short_scenario",
    "team_paths",
]

JobKind = Literal["good", "corrupt", "empty", "huge", "binary", "crashed", "forged_window"]
Delivery = Literal["normal", "dropped", "duplicated"]
BAD_KINDS: tuple[JobKind, ...] = ("corrupt", "empty", "huge", "binary", "crashed", "forged_window")
DAY_S = 86_400.0


@dataclass(frozen=True)
class Scenario:
    """The size and pace of a rehearsal; all durations in seconds.

    Attributes:
        teams, submissions_per_team, servers, workers, board_clients: the event's size.
        board_poll_s: each board client fetches the board this often (conditional GET with the ETag).
        simulated_days: the span the replayed jobs' windows cover.
        replay_s: real seconds over which the replayed jobs are announced.
        live_jobs_per_server: jobs run in real time per server (among the teams' submissions).
        job_s: (shortest, longest) simulated job duration; live_job_s: the same for live jobs.
        scrape_interval_s: Prometheus' scrape interval of every exporter (the event's telemetry.scrape_interval).
        drop_rate, duplicate_rate: fraction of job webhooks never delivered / delivered twice.
        bad_each: jobs of each bad-input kind.
        subgroup_twins: pairs of teams in two subgroups whose projects share a name (``track1/twin-01`` and
            ``track2/twin-01``): each must stay its own team, with none of its jobs stored as the other's.
        outage_jobs: replayed jobs of one server during which its GPU exporter is down (one live job too).
        boavizta_down_s: BoaviztAPI's outage (a five-minute outage, scaled).
        pg_drops: times every connection of the workers and the board is terminated.
        lease_s, retry_delay_s, reconcile_every_s, lookback_s: the workers' options.
        drain_timeout_s: after the last announcement, how long to wait for every job to be final.
        truth_rows: rows of the hidden truth.
        max_predictions_mb: the event's limit on the predictions artifact.
        seed: every random choice derives from it.
    """

    teams: int = 50
    submissions_per_team: int = 40
    servers: int = 4
    workers: int = 2
    board_clients: int = 100
    board_poll_s: float = 2.0
    simulated_days: float = 2.0
    replay_s: float = 420.0
    live_jobs_per_server: int = 6
    job_s: tuple[float, float] = (10.0, 60.0)
    live_job_s: tuple[float, float] = (10.0, 20.0)
    scrape_interval_s: float = 5.0
    drop_rate: float = 0.05
    duplicate_rate: float = 0.05
    bad_each: int = 3
    subgroup_twins: int = 2
    outage_jobs: int = 3
    boavizta_down_s: float = 60.0
    pg_drops: int = 2
    lease_s: float = 60.0
    retry_delay_s: float = 2.0
    reconcile_every_s: float = 20.0
    lookback_s: float = 180.0
    drain_timeout_s: float = 300.0
    truth_rows: int = 200
    max_predictions_mb: float = 0.05
    seed: int = 20261201

    @property
    def jobs(self) -> int:
        return self.teams * self.submissions_per_team

    @property
    def compression(self) -> float:
        """How many simulated seconds pass per real second of replay."""
        return self.simulated_days * DAY_S / self.replay_s


def bench_scenario() -> Scenario:
    """The issue's event: 50 teams x 40 submissions, 4 servers, 2 workers, 100 board clients."""
    return Scenario()


def short_scenario() -> Scenario:
    """A short rehearsal with every fault and bad-input kind at least once (for the test suite)."""
    return Scenario(
        teams=6,
        submissions_per_team=4,
        servers=2,
        workers=2,
        board_clients=4,
        board_poll_s=1.0,
        replay_s=24.0,
        live_jobs_per_server=1,
        live_job_s=(4.0, 6.0),
        scrape_interval_s=2.0,
        drop_rate=0.0,  # the plan forces one dropped and one duplicated webhook
        duplicate_rate=0.0,
        bad_each=1,
        subgroup_twins=1,
        outage_jobs=1,
        boavizta_down_s=8.0,
        pg_drops=1,
        lease_s=12.0,
        retry_delay_s=1.0,
        reconcile_every_s=5.0,
        lookback_s=120.0,
        drain_timeout_s=120.0,
        truth_rows=60,
        seed=7,
    )


def team_paths(scenario: Scenario) -> tuple[str, ...]:
    """Each team's project path below the event's group: the first ``2 * subgroup_twins`` teams are twins in the
    subgroups ``track1`` and ``track2`` (same project name, two projects), the others ``team-NN`` at the top."""
    if not 0 <= 2 * scenario.subgroup_twins <= scenario.teams:
        raise ValueError(
            f"{scenario.subgroup_twins} pairs of subgroup twins need {2 * scenario.subgroup_twins} teams"
        )
    twins = 2 * scenario.subgroup_twins
    return tuple(
        f"track{t % 2 + 1}/twin-{t // 2 + 1:02d}" if t < twins else f"team-{t + 1:02d}"
        for t in range(scenario.teams)
    )


@dataclass(frozen=True)
class JobPlan:
    """One submission job: whose, where, when (Unix seconds) and what it uploads.

    ``announce_at_s`` is the real offset from the rehearsal's start at which GitLab shows it finished and sends
    its webhook (for live jobs: their end; their window is then re-based onto real time, see ``live_offset_s``).
    """

    index: int
    team: int
    server: int
    start_s: float
    end_s: float
    announce_at_s: float
    live: bool
    kind: JobKind
    delivery: Delivery
    accuracy: float
    exporter_down: bool
    live_offset_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class FaultPlan:
    """When (real seconds from the start) each fault is injected."""

    boavizta_down_at_s: float
    boavizta_down_s: float
    worker_kill_at_s: float
    prometheus_restart_at_s: float
    pg_drops_at_s: tuple[float, ...]
    probes_at_s: float
    outage_server: int


@dataclass(frozen=True)
class Plan:
    """The whole rehearsal: the jobs in announcement order and the faults.

    ``anchor_s`` is the Unix time the simulated past ends at (replayed windows lie before it); live jobs' windows
    are relative to the rehearsal's real start (``live_offset_s`` added once it is known).
    """

    scenario: Scenario
    anchor_s: float
    jobs: tuple[JobPlan, ...]
    faults: FaultPlan
    late_server: int = field(default=0)

    def outage_span(self) -> tuple[float, float] | None:
        """The GPU exporter outage over the replayed jobs of ``faults.outage_server`` (Unix seconds)."""
        down = [j for j in self.jobs if j.exporter_down and not j.live]
        if not down:
            return None
        return min(j.start_s for j in down) - 1.0, max(j.end_s for j in down) + 1.0


def _lay_out(
    rng: random.Random, count: int, begin_s: float, end_s: float, lengths: tuple[float, float]
) -> list[tuple[float, float]]:
    """``count`` windows in [begin_s, end_s], in order, none overlapping (one per equal slot)."""
    slot_s = (end_s - begin_s) / count
    if slot_s < lengths[0] + 1.0:
        raise ValueError(f"{count} jobs of >= {lengths[0]} s do not fit in {end_s - begin_s:.0f} s")
    windows = []
    for i in range(count):
        length = min(rng.uniform(*lengths), slot_s - 1.0)
        start = begin_s + i * slot_s + rng.uniform(0.0, slot_s - length - 1.0)
        windows.append((round(start, 3), round(start + length, 3)))
    return windows


def make_plan(scenario: Scenario, *, anchor_s: float) -> Plan:
    """Plan every job and fault of ``scenario``; the simulated past ends ``anchor_s`` (Unix seconds)."""
    sc = scenario
    rng = random.Random(sc.seed)
    live_total = sc.live_jobs_per_server * sc.servers
    replayed_total = sc.jobs - live_total
    if replayed_total < sc.servers * 2:
        raise ValueError("too few jobs for the servers")
    past_begin = anchor_s - sc.simulated_days * DAY_S
    past_end = anchor_s - 120.0
    # the last server joins late (its first job comes during BoaviztAPI's outage: its factors are not cached yet)
    late_server = sc.servers - 1
    boavizta_at = 0.25 * sc.replay_s
    late_begin = past_begin + (boavizta_at + 0.1 * sc.boavizta_down_s) / sc.replay_s * (past_end - past_begin)
    per_server = [
        replayed_total // sc.servers + (1 if s < replayed_total % sc.servers else 0)
        for s in range(sc.servers)
    ]
    raw: list[tuple[int, float, float, bool, float]] = []  # server, start, end, live, live_offset
    for server, count in enumerate(per_server):
        begin = late_begin if server == late_server and sc.servers > 1 else past_begin
        for start, end in _lay_out(rng, count, begin, past_end, sc.job_s):
            raw.append((server, start, end, False, 0.0))
    # live jobs: relative windows from 0 (the rehearsal's start), spread over the replay, one server at a time
    live_span = sc.replay_s * 0.9
    for server in range(sc.servers):
        for start, end in _lay_out(rng, sc.live_jobs_per_server, 0.1 * sc.replay_s, live_span, sc.live_job_s):
            raw.append((server, start, end, True, 0.0))

    def announce(item: tuple[int, float, float, bool, float]) -> float:
        _, _, end, live, _ = item
        if live:
            return end
        return (end - past_begin) / (past_end - past_begin) * sc.replay_s

    raw.sort(key=announce)
    teams = [t for t in range(sc.teams) for _ in range(sc.submissions_per_team)]
    rng.shuffle(teams)

    # faults and bad inputs: picked among replayed jobs of the servers that are not the late one
    outage_server = 1 % sc.servers
    replayed = [i for i, r in enumerate(raw) if not r[3]]
    on_outage = [i for i in replayed if raw[i][0] == outage_server]
    mid = len(on_outage) // 2
    outage = set(on_outage[mid : mid + sc.outage_jobs])
    live_outage = next((i for i, r in enumerate(raw) if r[3] and r[0] == outage_server), None)
    candidates = [i for i in replayed if i not in outage and raw[i][0] != late_server]
    rng.shuffle(candidates)
    kinds: dict[int, JobKind] = {}
    for n, kind in enumerate(k for k in BAD_KINDS for _ in range(sc.bad_each)):
        kinds[candidates[n]] = kind
    deliveries: dict[int, Delivery] = {}
    plain = [i for i in range(len(raw)) if i not in kinds]
    for i in plain:
        draw = rng.random()
        if draw < sc.drop_rate:
            deliveries[i] = "dropped"
        elif draw < sc.drop_rate + sc.duplicate_rate:
            deliveries[i] = "duplicated"
    if "dropped" not in deliveries.values():
        deliveries[plain[len(plain) // 3]] = "dropped"
    if "duplicated" not in deliveries.values():
        deliveries[plain[2 * len(plain) // 3]] = "duplicated"

    jobs = tuple(
        JobPlan(
            index=i,
            team=teams[i],
            server=server,
            start_s=start,
            end_s=end,
            announce_at_s=round(announce(raw[i]), 3),
            live=live,
            kind=kinds.get(i, "good"),
            delivery=deliveries.get(i, "normal"),
            accuracy=round(rng.uniform(0.55, 0.97), 3),
            exporter_down=i in outage or i == live_outage,
        )
        for i, (server, start, end, live, _) in enumerate(raw)
    )
    faults = FaultPlan(
        boavizta_down_at_s=boavizta_at,
        boavizta_down_s=sc.boavizta_down_s,
        worker_kill_at_s=0.35 * sc.replay_s,
        prometheus_restart_at_s=0.55 * sc.replay_s,
        pg_drops_at_s=tuple(
            sc.replay_s * (0.3 + 0.4 * (k + 1) / (sc.pg_drops + 1)) for k in range(sc.pg_drops)
        ),
        probes_at_s=0.6 * sc.replay_s,
        outage_server=outage_server,
    )
    return Plan(scenario=sc, anchor_s=anchor_s, jobs=jobs, faults=faults, late_server=late_server)
