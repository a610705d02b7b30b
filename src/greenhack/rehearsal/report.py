"""The rehearsal's figures and verdicts, computed from what was observed, and the printed table.

Definitions:

* lost: a job GitLab finished that has no row at all at the end (no webhook, no reconciler pass queued it);
  unfinished: a job with a row still queued or measuring when the drain timed out (a backlog, not a loss);
* duplicated evaluations: a job stored as final more than once (worker logs), two rows for one GitLab job, or two
  score rows for one submission and board;
* misattributed: a job stored under a team other than its project's, or a team named other than its project's
  path below the group (the subgroup twins, ``track1/twin-01`` and ``track2/twin-01``, must stay two teams);
* forged results accepted: a forged-window job stored with a window other than GitLab's or an energy nearer the
  forged window's; a wrong-token webhook that queued anything; a bad-input job that ended ``scored``;
* latency: from the moment GitLab shows the job finished (its webhook is sent then) to the moment the job's final
  row is read from the board's API (polled every 0.5 s); "all services up" keeps the jobs whose span touched no
  fault and whose webhook was delivered normally (dropped ones wait for the reconciler by design).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenhack.rehearsal.observe import RequestRecord
from greenhack.rehearsal.scenario import JobPlan, Scenario
from greenhack.status import FINAL_STATUSES, Status

__all__ = [
    "BAD",
    "FaultRecord",
    "JobOutcome",
    "ProbeResult",
    "RehearsalResult",
    "expected_statuses",
    "percentile",
    "summarise",
]

BAD = ("corrupt", "empty", "huge", "binary", "crashed")


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault and the real span (s from the start) during which it was in effect."""

    name: str
    start_s: float
    end_s: float
    detail: str


@dataclass(frozen=True)
class ProbeResult:
    """One bad request or access check; ``informational`` ones state a fact, they do not pass or fail."""

    name: str
    passed: bool
    detail: str
    informational: bool = False


@dataclass(frozen=True)
class JobOutcome:
    """A planned job and what became of it."""

    plan: JobPlan
    gitlab_job_id: int
    announced_at_s: float
    seen_at_s: float | None
    status: str | None
    reason: str | None
    attempts: int
    window: tuple[float, float] | None
    energy_j: float | None
    true_energy_j: float
    completions: int
    hook_codes: tuple[int | None, ...]
    # the job's GitLab project and its path below the group, and the team its row is stored under (that team's
    # project id and name; None: no row)
    project_id: int = 0
    team_path: str = ""
    stored_team: tuple[int, str] | None = None

    @property
    def misattributed(self) -> bool:
        return self.stored_team is not None and self.stored_team != (self.project_id, self.team_path)

    @property
    def latency_s(self) -> float | None:
        return None if self.seen_at_s is None else self.seen_at_s - self.announced_at_s


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100, nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def expected_statuses(outcome: JobOutcome, faults: list[FaultRecord], scrape_interval_s: float) -> set[Status]:
    """The final statuses a correct platform may give this job."""
    job = outcome.plan
    if job.kind in BAD:
        return {Status.INVALID}
    if job.exporter_down:
        return {Status.NEEDS_REVIEW}
    if job.live:
        # a live window during Prometheus' restart has a real gap: flagging it is right, scoring it too if not
        for f in faults:
            if f.name == "Prometheus restarted":
                a, b = job.start_s - job.live_offset_s, job.end_s - job.live_offset_s
                if a < f.end_s and b > f.start_s - 3 * scrape_interval_s:
                    return {Status.SCORED, Status.NEEDS_REVIEW}
    return {Status.SCORED}


@dataclass(frozen=True)
class RehearsalResult:
    """Everything the bench prints and the test asserts."""

    scenario: Scenario
    outcomes: list[JobOutcome]
    faults: list[FaultRecord]
    probes: list[ProbeResult]
    submitted: int
    evaluated: int
    flagged: int
    by_status: dict[str, int]
    lost: list[int]
    misattributed: list[int]
    unfinished: list[int]
    duplicated: int
    forged_accepted: int
    unexpected: list[str]
    latency_all: list[float]
    latency_clean: list[float]
    latency_live_clean: list[float]
    board_latency_s: list[float]
    board_errors: int
    board_rate_per_s: float
    memory_mb: dict[str, float]
    energy_errors: list[float]
    played_s: float
    drained_s: float
    lateness_s: float
    setup_s: dict[str, float]
    hooks_refused: int
    evaluation_s: list[float]
    notes: list[str] = field(default_factory=list)

    @property
    def latency_target_s(self) -> float:
        return 2 * self.scenario.scrape_interval_s + 5.0

    def table(self) -> str:
        """The printed report (figures, targets and verdicts, faults, probes, what was simulated)."""
        sc = self.scenario

        def pct(values: list[float], q: float) -> str:
            v = percentile(values, q)
            return "-" if v is None else f"{v:.2f} s"

        def verdict(ok: bool) -> str:
            return "ok" if ok else "FAIL"

        p99_clean = percentile(self.latency_clean, 99)
        live_p99 = percentile(self.latency_live_clean, 99)
        rows: list[tuple[str, str, str]] = [
            ("jobs submitted", str(self.submitted), ""),
            ("jobs evaluated (final row)", str(self.evaluated), ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))),
            ("jobs flagged (needs_review)", str(self.flagged), ""),
            ("lost (no row at the end)", str(len(self.lost)), verdict(not self.lost) + " (must be 0)"),
            ("misattributed (stored as another team's)", str(len(self.misattributed)),
             verdict(not self.misattributed) + f" (must be 0; {2 * sc.subgroup_twins} subgroup twins)"),
            ("unfinished when the drain timed out", str(len(self.unfinished)),
             verdict(not self.unfinished) + f" (queued/measuring after {self.scenario.drain_timeout_s:g} s)"),
            ("duplicated evaluations", str(self.duplicated), verdict(self.duplicated == 0) + " (must be 0)"),
            ("forged results accepted", str(self.forged_accepted), verdict(self.forged_accepted == 0) + " (must be 0)"),
            ("jobs with an unexpected status", str(len(self.unexpected)), verdict(not self.unexpected)),
            ("latency job end -> board, all jobs p50 / p99",
             f"{pct(self.latency_all, 50)} / {pct(self.latency_all, 99)}", f"n={len(self.latency_all)}"),
            ("latency, all services up p50 / p99",
             f"{pct(self.latency_clean, 50)} / {pct(self.latency_clean, 99)}",
             f"n={len(self.latency_clean)}; target p99 < {self.latency_target_s:g} s: "
             + verdict(p99_clean is not None and p99_clean < self.latency_target_s)),
            ("  of which live jobs (real scrape wait) p50 / p99",
             f"{pct(self.latency_live_clean, 50)} / {pct(self.latency_live_clean, 99)}",
             f"n={len(self.latency_live_clean)}"
             + ("" if live_p99 is None else "; " + verdict(live_p99 < self.latency_target_s))),
            ("board latency under load p50 / p99",
             f"{pct(self.board_latency_s, 50)} / {pct(self.board_latency_s, 99)}",
             f"{len(self.board_latency_s)} requests, {self.board_rate_per_s:.1f}/s, {self.board_errors} errors"),
            ("peak memory, web", f"{self.memory_mb.get('web', 0.0):.0f} MiB", "VmHWM of greenhack serve"),
            ("peak memory, worker (max)",
             f"{max((v for k, v in self.memory_mb.items() if k.startswith('worker')), default=0.0):.0f} MiB",
             ", ".join(f"{k.split()[1]} {v:.0f}" for k, v in sorted(self.memory_mb.items()) if k.startswith("worker"))),
            ("energy error of scored jobs, median / max",
             f"{_pct_str(self.energy_errors, 50)} / {_pct_str(self.energy_errors, 100)}", "vs the exact trace"),
            ("evaluation claim -> stored, first / last 10 %",
             (f"{_mean(self.evaluation_s[: max(1, len(self.evaluation_s) // 10)])} / "
             f"{_mean(self.evaluation_s[-max(1, len(self.evaluation_s) // 10) :])}"),
             f"mean of {len(self.evaluation_s)} evaluations in finishing order"),
            ("webhooks refused by the board", str(self.hooks_refused), "non-2xx answers to GitLab's deliveries"),
            ("real time: played / drained", f"{self.played_s:.0f} s / {self.drained_s:.0f} s",
             f"announcements at most {self.lateness_s:.1f} s late"),
        ]  # fmt: skip
        width = max(len(r[0]) for r in rows)
        vwidth = max(len(r[1]) for r in rows)
        lines = [(f"greenhack event rehearsal: {sc.teams} teams x {sc.submissions_per_team} submissions, "
                 f"{sc.servers} servers, {sc.workers} workers, {sc.board_clients} board clients")]  # fmt: skip
        lines.append("-" * (width + vwidth + 40))
        lines += [f"{name:<{width}}  {value:>{vwidth}}  {note}" for name, value, note in rows]
        lines.append("-" * (width + vwidth + 40))
        lines.append("faults injected (real seconds from the start):")
        lines += [f"  {f.start_s:7.1f} .. {f.end_s:7.1f}  {f.name}: {f.detail}" for f in self.faults]
        lines.append("bad input and access probes:")
        lines += [
            f"  {'info' if p.informational else verdict(p.passed):<4}  {p.name}: {p.detail}"
            for p in self.probes
        ]
        if self.unexpected:
            lines.append("jobs with an unexpected outcome:")
            lines += [f"  {u}" for u in self.unexpected[:20]]
        if self.lost:
            lines.append(f"lost GitLab jobs: {self.lost[:20]}")
        if self.misattributed:
            lines.append(f"misattributed GitLab jobs: {self.misattributed[:20]}")
        lines.append("what is real and what is simulated:")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    @property
    def passed(self) -> bool:
        return (
            not self.lost
            and not self.misattributed
            and not self.unfinished
            and self.duplicated == 0
            and self.forged_accepted == 0
            and not self.unexpected
            and all(p.passed for p in self.probes)
        )


def _mean(values: list[float]) -> str:
    return "-" if not values else f"{sum(values) / len(values):.2f} s"


def _pct_str(values: list[float], q: float) -> str:
    v = percentile(values, q)
    return "-" if v is None else f"{100 * v:.2f} %"


def _overlaps(a: float, b: float, faults: list[FaultRecord]) -> bool:
    return any(a < f.end_s and b > f.start_s for f in faults)


def summarise(
    *,
    scenario: Scenario,
    outcomes: list[JobOutcome],
    faults: list[FaultRecord],
    probes: list[ProbeResult],
    board: list[RequestRecord],
    memory_mb: dict[str, float],
    duplicate_rows: int,
    duplicate_scores: int,
    forged_job_queued: bool,
    killed_job: int | None,
    lateness_s: float,
    played_s: float,
    drained_s: float,
    setup_s: dict[str, float],
    unknown_rows: list[int],
    evaluation_s: list[float],
) -> RehearsalResult:
    """Compute every figure from the observations."""
    by_status: dict[str, int] = {}
    for o in outcomes:
        key = o.status or "(no row)"
        by_status[key] = by_status.get(key, 0) + 1
    lost = sorted(o.gitlab_job_id for o in outcomes if o.status is None)
    misattributed = sorted(o.gitlab_job_id for o in outcomes if o.misattributed)
    unfinished = sorted(
        o.gitlab_job_id for o in outcomes if o.status is not None and o.status not in FINAL_STATUSES
    )
    duplicated = sum(1 for o in outcomes if o.completions > 1) + duplicate_rows + duplicate_scores
    forged = 0
    unexpected: list[str] = []
    for o in outcomes:
        job = o.plan
        if job.kind in BAD and o.status == Status.SCORED:
            forged += 1
        if job.kind == "forged_window" and o.status in FINAL_STATUSES:
            true_window = (job.start_s, job.end_s)
            window_ok = o.window is not None and all(
                abs(x - y) < 0.002 for x, y in zip(o.window, true_window, strict=True)
            )
            energy_ok = o.energy_j is not None and abs(o.energy_j - o.true_energy_j) < 0.1 * o.true_energy_j
            if not (window_ok and energy_ok):
                forged += 1
                unexpected.append(
                    f"job {o.gitlab_job_id} (forged window): stored window {o.window}, energy {o.energy_j}"
                )
        want = expected_statuses(o, faults, scenario.scrape_interval_s)
        if o.status in FINAL_STATUSES and o.status not in want:
            unexpected.append(
                f"job {o.gitlab_job_id} ({job.kind}, server gpu-{job.server + 1}{', live' if job.live else ''}): "
                f"{o.status}, expected {'/'.join(sorted(want))}; {o.reason}"
            )
    if forged_job_queued:
        forged += 1
        unexpected.append("a webhook with a wrong token queued a job")
    if unknown_rows:
        unexpected.append(f"rows for GitLab jobs nobody ran: {unknown_rows}")

    latency_all = [o.latency_s for o in outcomes if o.latency_s is not None]
    clean = [
        o
        for o in outcomes
        if o.latency_s is not None
        and o.plan.delivery == "normal"
        and o.plan.kind != "forged_window"
        and o.gitlab_job_id != killed_job
        and not _overlaps(
            o.announced_at_s - (o.plan.duration_s if o.plan.live else 0.0), o.seen_at_s or 0.0, faults
        )
    ]
    energy_errors = [
        abs(o.energy_j - o.true_energy_j) / o.true_energy_j
        for o in outcomes
        if o.status == Status.SCORED and o.energy_j is not None and o.true_energy_j > 0
    ]
    ok_board = [r for r in board if r.status in (200, 304)]
    board_errors = sum(1 for r in board if r.status not in (200, 304))
    span = max(1e-9, (max((r.at_s for r in board), default=0.0) - min((r.at_s for r in board), default=0.0)))
    hooks_refused = sum(1 for o in outcomes for c in o.hook_codes if c is None or c >= 300)
    sc = scenario
    live_n = sum(1 for o in outcomes if o.plan.live)
    notes = [
        (
            f"SIMULATED: the {sc.simulated_days:g}-day event timeline. {len(outcomes) - live_n} jobs ran in the past "
            f"{sc.simulated_days:g} days ({sc.job_s[0]:g}-{sc.job_s[1]:g} s each); their exporters' scrapes were backfilled "
            f"into Prometheus (exact known energy) and their webhooks replayed in {sc.replay_s:g} s of real time "
            f"({sc.compression:.0f}x compression, about {len(outcomes) / sc.replay_s:.1f} jobs/s vs "
            f"{len(outcomes) / (sc.simulated_days * 86400):.3f}/s in a real event)."
        ),
        (
            f"REAL TIME: {live_n} live jobs ({sc.live_job_s[0]:g}-{sc.live_job_s[1]:g} s) on simulated exporters served live "
            f"and scraped by Prometheus every {sc.scrape_interval_s:g} s; webhooks, queue, workers, PostgreSQL, "
            "Prometheus and BoaviztAPI queries, the board and its clients; the Prometheus restart, the worker SIGKILL "
            "and pg_terminate_backend are real."
        ),
        (
            f"SCALED: BoaviztAPI's 5-minute outage lasts {sc.boavizta_down_s:g} s; worker lease {sc.lease_s:g} s, first "
            f"retry {sc.retry_delay_s:g} s, reconciler every {sc.reconcile_every_s:g} s (look-back {sc.lookback_s:g} s); "
            f"the last server joins during the outage (no cached factors), the others use cached factors."
        ),
        (
            f"BOARD LOAD: {sc.board_clients} clients each fetching /api/v1/leaderboard every {sc.board_poll_s:g} s with "
            f"their ETag, in one asyncio thread of the harness, on the same machine as everything else."
        ),
        "set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup_s.items()),
    ]
    return RehearsalResult(
        scenario=scenario,
        outcomes=outcomes,
        faults=sorted(faults, key=lambda f: f.start_s),
        probes=probes,
        submitted=len(outcomes),
        evaluated=sum(1 for o in outcomes if o.status in FINAL_STATUSES),
        flagged=sum(1 for o in outcomes if o.status == Status.NEEDS_REVIEW),
        by_status=by_status,
        lost=lost,
        misattributed=misattributed,
        unfinished=unfinished,
        duplicated=duplicated,
        forged_accepted=forged,
        unexpected=unexpected,
        latency_all=latency_all,
        latency_clean=[o.latency_s for o in clean if o.latency_s is not None],
        latency_live_clean=[o.latency_s for o in clean if o.latency_s is not None and o.plan.live],
        board_latency_s=[r.latency_s for r in ok_board],
        board_errors=board_errors,
        board_rate_per_s=len(board) / span,
        memory_mb=memory_mb,
        energy_errors=energy_errors,
        played_s=played_s,
        drained_s=drained_s,
        lateness_s=lateness_s,
        setup_s=setup_s,
        hooks_refused=hooks_refused,
        evaluation_s=evaluation_s,
        notes=notes,
    )
