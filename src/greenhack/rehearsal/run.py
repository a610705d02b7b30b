"""Run a rehearsal: start the stack, announce every job on time (webhooks dropped, duplicated, forged), inject the
faults, let visitors poll the board, drain, then read what happened from the database, the API and the logs."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from greenhack.rehearsal.observe import BoardLoad, BoardWatcher, MemorySampler
from greenhack.rehearsal.report import FaultRecord, JobOutcome, ProbeResult, RehearsalResult, summarise
from greenhack.rehearsal.scenario import JobPlan, Scenario, make_plan, team_paths
from greenhack.rehearsal.stack import ADMIN_TOKEN, WEBHOOK_SECRET, PrometheusMaker, Stack, job_energy_j
from greenhack.services.boavizta import BoaviztaServer
from greenhack.services.postgres import DEFAULT_ADMIN_URL

__all__ = ["FORGED_JOB_ID", "run_rehearsal"]

log = logging.getLogger(__name__)

_DONE = re.compile(r"greenhack\.worker: job (\d+): (scored|invalid|needs_review|failed)\b")
FORGED_JOB_ID = 999_999_001


@dataclass
class _Announced:
    job: JobPlan
    gitlab_job_id: int
    at_s: float
    hook_codes: list[int | None] = field(default_factory=list)


class _Driver:
    def __init__(self, stack: Stack, jobs: list[JobPlan], t0_mono: float, say: Callable[[str], None]) -> None:
        self.stack = stack
        self.jobs = jobs
        self.t0 = t0_mono
        self.say = say
        self.announced: dict[int, _Announced] = {}
        self.faults: list[FaultRecord] = []
        self.probes: list[ProbeResult] = []
        self.killed_job: int | None = None
        self.hooks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gitlab-hooks")
        self.actions = ThreadPoolExecutor(max_workers=4, thread_name_prefix="faults")
        self.http = httpx.Client(timeout=15.0)
        self.engine = sa.create_engine(stack.database_url, poolclass=NullPool)
        self.watcher: BoardWatcher | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _fault(self, name: str, start: float, end: float, detail: str) -> None:
        with self._lock:
            self.faults.append(FaultRecord(name, start, end, detail))
        self.say(f"[{end:7.1f}s] fault: {name}: {detail}")

    # --- announcements -----------------------------------------------------------------------------------------

    def announce(self, job: JobPlan) -> None:
        gid = self.stack.record_job(job)
        at = self.now()
        assert self.stack.fake is not None
        created = datetime.fromisoformat(self.stack.fake.job_json(gid)["created_at"])
        item = _Announced(job, gid, at)
        self.announced[gid] = item
        assert self.watcher is not None
        self.watcher.expect(gid, time.monotonic(), created)
        if job.kind == "forged_window":
            self.hooks.submit(self._forged, item)
        elif job.delivery != "dropped":
            self.hooks.submit(self._deliver, item, 2 if job.delivery == "duplicated" else 1)

    def _deliver(self, item: _Announced, times: int) -> None:
        assert self.stack.fake is not None
        for _ in range(times):
            for sent in self.stack.fake.deliver_job_hook(item.gitlab_job_id, client=self.http):
                item.hook_codes.append(sent.status_code)

    def _forged(self, item: _Announced) -> None:
        """The webhook body claims a short window in the server's idle time (the token is GitLab's own)."""
        assert self.stack.fake is not None
        body = self.stack.fake.job_hook_payload(item.gitlab_job_id)
        start = datetime.fromtimestamp(item.job.start_s - 600.0, tz=UTC)
        end = datetime.fromtimestamp(item.job.start_s - 598.0, tz=UTC)
        for key, moment in (("build_started_at", start), ("build_finished_at", end)):
            body[key] = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
            body[key + "_iso"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        body["build_duration"] = 2.0
        answer = self.http.post(
            f"{self.stack.web_url}/api/v1/hooks/gitlab",
            content=json.dumps(body).encode(),
            headers={
                "X-Gitlab-Event": "Job Hook",
                "X-Gitlab-Token": WEBHOOK_SECRET,
                "Content-Type": "application/json",
            },
        )
        item.hook_codes.append(answer.status_code)

    # --- faults ------------------------------------------------------------------------------------------------

    def boavizta_outage(self, down_s: float) -> None:
        boavizta = self.stack.boavizta
        assert boavizta is not None
        start = self.now()
        boavizta.stop()
        time.sleep(down_s)
        boavizta.start()
        self._fault("BoaviztAPI down", start, self.now(), f"stopped {down_s:g} s, then started again")

    def prometheus_restart(self) -> None:
        prometheus = self.stack.prometheus
        assert prometheus is not None
        start = self.now()
        took = prometheus.restart()
        end = (
            self.now() + self.stack.plan.scenario.scrape_interval_s + 5.0
        )  # scrape manager starts ~5 s later
        self._fault(
            "Prometheus restarted", start, end, f"stopped and started again (ready after {took:.1f} s)"
        )

    def kill_worker(self, name: str, restart_as: str) -> None:
        start = self.now()
        deadline = time.monotonic() + 60.0
        job = None
        while time.monotonic() < deadline and job is None:
            try:
                with self.engine.connect() as conn:
                    job = conn.execute(
                        sa.text(
                            "SELECT gitlab_job_id FROM submissions WHERE status = 'measuring' AND claimed_by = :w"
                        ),
                        {"w": name},
                    ).scalar()
            except sa.exc.SQLAlchemyError:
                job = None
            if job is None:
                time.sleep(0.02)
        self.stack.kill_worker(name)
        self.killed_job = int(job) if job is not None else None
        killed_at = self.now()
        time.sleep(2.0)  # the supervisor (systemd Restart=always) starts it again
        self.stack.start_worker(restart_as)
        what = f"mid-evaluation of job {job}" if job is not None else "while idle (no claim seen in 60 s)"
        self._fault("worker SIGKILL", start if job is None else killed_at, self.now(),
                    f"{name} killed {what}; restarted as {restart_as}")  # fmt: skip

    def pg_drop(self) -> None:
        start = self.now()
        name = sa.make_url(self.stack.database_url).database
        admin = DEFAULT_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchone()
        self._fault("PostgreSQL connections dropped", start, self.now() + 1.0,
                    f"pg_terminate_backend on {killed[0] if killed else 0} connection(s)")  # fmt: skip

    # --- bad requests ------------------------------------------------------------------------------------------

    def probes_now(self) -> None:
        try:
            self._probes()
        except Exception as exc:  # a probe that cannot run is a finding, never a crash of the rehearsal
            log.exception("probes failed")
            self.probes.append(ProbeResult("probes ran", False, f"{type(exc).__name__}: {exc}"))

    def _probes(self) -> None:
        web, fake = self.stack.web_url, self.stack.fake
        assert fake is not None
        some = next(iter(self.announced.values()))
        body = fake.job_hook_payload(some.gitlab_job_id)
        body["build_id"] = FORGED_JOB_ID
        hook = f"{web}/api/v1/hooks/gitlab"
        wrong = self.http.post(
            hook, json=body, headers={"X-Gitlab-Event": "Job Hook", "X-Gitlab-Token": "guessed"}
        )
        self.probes.append(ProbeResult("webhook with a wrong token refused (401)", wrong.status_code == 401,
                                       f"HTTP {wrong.status_code}"))  # fmt: skip
        bad = self.http.post(
            hook,
            content=b'{"object_kind": "build", "build_id": ',
            headers={
                "X-Gitlab-Event": "Job Hook",
                "X-Gitlab-Token": WEBHOOK_SECRET,
                "Content-Type": "application/json",
            },
        )
        self.probes.append(
            ProbeResult("malformed JSON refused (400)", bad.status_code == 400, f"HTTP {bad.status_code}")
        )
        self._private_details()

    def _private_details(self) -> None:
        """A team (a visitor without the admin token: teams have no other identity) reads another team's
        submission, team page and the final board before the event closes."""
        web = self.stack.web_url
        rows = self.http.get(f"{web}/api/v1/submissions", params={"status": "scored", "limit": 50}).json()
        if not rows:
            self.probes.append(
                ProbeResult("private details hidden", False, "no scored submission to probe yet")
            )
            return
        target = rows[0]
        visitor = self.http.get(f"{web}/api/v1/submissions/{target['id']}").json()
        admin = self.http.get(
            f"{web}/api/v1/submissions/{target['id']}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ).json()
        splits = {p["split"] for p in visitor.get("performances", [])}
        boards = {s["board"] for s in visitor.get("scores", [])}
        admin_splits = {p["split"] for p in admin.get("performances", [])}
        self.probes.append(ProbeResult(
            "another team's private-row score hidden from a visitor",
            "private" not in splits and "final" not in boards and "private" in admin_splits,
            f"visitor sees splits {sorted(splits)}, boards {sorted(boards)}; admin sees {sorted(admin_splits)}",
        ))  # fmt: skip
        team = self.http.get(f"{web}/api/v1/teams/{target['team_id']}").json()
        leaked = [k for s in team["detail"]["submissions"] for k in s if "private" in k]
        self.probes.append(
            ProbeResult("team page shows no private-row field", not leaked, f"fields {sorted(set(leaked))}")
        )
        final = self.http.get(f"{web}/api/v1/leaderboard", params={"board": "final"})
        final_csv = self.http.get(f"{web}/api/v1/leaderboard.csv", params={"board": "final"})
        self.probes.append(ProbeResult(
            "final board refused to a visitor before the close (403)",
            final.status_code == 403 and final_csv.status_code == 403,
            f"JSON HTTP {final.status_code}, CSV HTTP {final_csv.status_code}",
        ))  # fmt: skip
        live = [
            self.http.get(f"{web}/api/v1/jobs/self/energy", headers=headers).status_code
            for headers in ({}, {"JOB-TOKEN": "glcbt-another-teams-guess"})
        ]
        self.probes.append(ProbeResult("live job energy refused without the job's own CI_JOB_TOKEN (401)",
                                       live == [401, 401], f"HTTP {live}"))  # fmt: skip
        rerun = self.http.post(f"{web}/api/v1/admin/submissions/{target['id']}/rerun")
        self.probes.append(ProbeResult("admin action refused without the token (401)", rerun.status_code == 401,
                                       f"HTTP {rerun.status_code}"))  # fmt: skip
        internal = [k for k in ("job_url",) if visitor["submission"].get(k) is not None]
        internal += ["last_error"] if visitor.get("last_error") is not None else []
        admin_sees = admin["submission"].get("job_url") is not None and "last_error" in admin
        self.probes.append(ProbeResult(
            "platform internals (job URL, last error) hidden from a visitor, shown to an admin",
            not internal and admin_sees,
            f"visitor sees {sorted(internal) or 'none of them'}; admin sees the job URL: {admin_sees}",
        ))  # fmt: skip
        self._invalid_reasons_hidden()
        public = sorted(k for k in ("window_start", "energy_j") if visitor["submission"].get(k) is not None)
        public += ["measurement.payload"] if (visitor.get("measurement") or {}).get("payload") else []
        self.probes.append(ProbeResult(
            "public to any visitor (the platform's transparency)", True, ", ".join(public), informational=True
        ))  # fmt: skip

    def _invalid_reasons_hidden(self) -> None:
        """An invalid submission's reason may list its predictions' problems (truth labels): a visitor reads a
        public reason instead; the team reads the problems in its GitLab commit comment."""
        web = self.stack.web_url
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        rows = self.http.get(
            f"{web}/api/v1/submissions", params={"status": "invalid", "limit": 50}, headers=auth
        )
        leaked = []
        checked = 0
        for row in rows.json():
            if row["reason"] is None or row["reason"].startswith("the job "):
                continue  # the job's own outcome (failed, canceled) is public
            checked += 1
            visitor = self.http.get(f"{web}/api/v1/submissions/{row['id']}").json()
            if visitor["submission"]["reason"] == row["reason"]:
                leaked.append(row["id"])
        self.probes.append(ProbeResult(
            "predictions' problems (may name truth labels) hidden from a visitor",
            not leaked,
            f"{checked} invalid submission(s) checked; reason readable by a visitor: {leaked or 'none'}",
        ))  # fmt: skip

    # --- the timeline ------------------------------------------------------------------------------------------

    def timeline(self) -> list[tuple[float, Callable[[], None], bool]]:
        """(real offset s, action, runs in the background)."""
        faults = self.stack.plan.faults
        events: list[tuple[float, Callable[[], None], bool]] = [
            (j.announce_at_s, functools.partial(self.announce, j), False) for j in self.jobs
        ]
        events.append((faults.boavizta_down_at_s, lambda: self.boavizta_outage(faults.boavizta_down_s), True))
        events.append((faults.worker_kill_at_s, lambda: self.kill_worker("w1", "w1-restarted"), True))
        events.append((faults.prometheus_restart_at_s, self.prometheus_restart, True))
        events.extend((t, self.pg_drop, True) for t in faults.pg_drops_at_s)
        events.append((faults.probes_at_s, self.probes_now, True))
        return sorted(events, key=lambda e: e[0])

    def play(self) -> float:
        """Run the timeline; returns the worst lateness of an announcement (s)."""
        lateness = 0.0
        pending = []
        for at, action, background in self.timeline():
            delay = at - self.now()
            if delay > 0:
                time.sleep(delay)
            else:
                lateness = max(lateness, -delay)
            if background:
                pending.append(self.actions.submit(action))
            else:
                action()
        for future in pending:
            future.result()
        self.hooks.shutdown(wait=True)
        return lateness

    def close(self) -> None:
        self.hooks.shutdown(wait=False)
        self.actions.shutdown(wait=False)
        self.http.close()
        self.engine.dispose()


def _db_rows(engine: sa.Engine) -> tuple[dict[int, dict[str, Any]], int, int]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT s.gitlab_project_id, s.gitlab_job_id, s.status, s.reason, s.attempts, s.window_start, "
                    "s.window_end, s.energy_j, s.server, s.evaluation_duration_s, t.name AS team_name, "
                    "t.gitlab_project_id AS team_project_id FROM submissions s JOIN teams t ON t.id = s.team_id "
                    "ORDER BY s.finished_at NULLS LAST"
                )
            )
            .mappings()
            .all()
        )
        dup_rows = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT 1 FROM submissions GROUP BY gitlab_project_id, gitlab_job_id "
                "HAVING count(*) > 1) d"
            )
        ).scalar_one()
        dup_scores = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT 1 FROM scores GROUP BY submission_id, board HAVING count(*) > 1) d"
            )
        ).scalar_one()
    return {int(r["gitlab_job_id"]): dict(r) for r in rows}, int(dup_rows), int(dup_scores)


def _evaluation_durations(rows: dict[int, dict[str, Any]]) -> list[float]:
    """Claim-to-stored seconds of the evaluations, in the order they finished."""
    return [
        float(r["evaluation_duration_s"]) for r in rows.values() if r["evaluation_duration_s"] is not None
    ]


def run_rehearsal(
    scenario: Scenario,
    workdir: Path,
    *,
    make_prometheus: PrometheusMaker | None = None,
    boavizta: BoaviztaServer | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> RehearsalResult:
    """Plan, start, play, drain and measure one rehearsal of ``scenario`` (logs and the event YAML in
    ``workdir``). Every service it started is stopped before it returns."""
    plan = make_plan(scenario, anchor_s=time.time())
    stack = Stack(plan, workdir, make_prometheus=make_prometheus, boavizta=boavizta)
    load = watcher = sampler = None
    driver = None
    try:
        say(f"starting the stack in {workdir} ...")
        stack.start()
        say("stack up: " + ", ".join(f"{k} {v:.1f} s" for k, v in stack.setup_s.items()))
        t0_wall, t0 = time.time(), time.monotonic()
        jobs = stack.arm_live_jobs(t0_wall)
        driver = _Driver(stack, jobs, t0, say)
        watcher = BoardWatcher(stack.web_url)
        driver.watcher = watcher
        load = BoardLoad(
            stack.web_url, clients=scenario.board_clients, poll_s=scenario.board_poll_s, seed=scenario.seed
        )

        def pids() -> dict[str, int | None]:
            out: dict[str, int | None] = {"web": stack.web.pid if stack.web else None}
            out.update({f"worker {n}": p.pid for n, p in list(stack.workers.items())})
            return out

        sampler = MemorySampler(pids)
        watcher.start()
        load.start()
        sampler.start()
        say(f"playing {len(jobs)} jobs over {scenario.replay_s:g} s ...")
        lateness = driver.play()
        played_s = driver.now()
        say(f"[{played_s:7.1f}s] every job announced; draining ...")
        deadline = time.monotonic() + scenario.drain_timeout_s
        while watcher.pending() and time.monotonic() < deadline:
            time.sleep(0.5)
        drained_s = driver.now()
        time.sleep(1.0)
        say(f"[{drained_s:7.1f}s] drained ({len(watcher.pending())} job(s) still not final on the board)")
        load.stop()
        watcher.stop()
        sampler.stop()
        rows, dup_rows, dup_scores = _db_rows(driver.engine)
        completions: dict[int, int] = {}
        for text in stack.worker_logs().values():
            for match in _DONE.finditer(text):
                completions[int(match.group(1))] = completions.get(int(match.group(1)), 0) + 1
        paths = team_paths(scenario)
        outcomes = []
        for gid, item in driver.announced.items():
            row = rows.get(gid)
            seen = watcher.seen.get(gid)
            outcomes.append(
                JobOutcome(
                    plan=item.job,
                    gitlab_job_id=gid,
                    announced_at_s=item.at_s,
                    seen_at_s=None if seen is None else seen - t0,
                    status=None if row is None else row["status"],
                    reason=None if row is None else row["reason"],
                    attempts=0 if row is None else row["attempts"],
                    window=(
                        None
                        if row is None or row["window_start"] is None
                        else (row["window_start"].timestamp(), row["window_end"].timestamp())
                    ),
                    energy_j=None if row is None else row["energy_j"],
                    true_energy_j=job_energy_j(stack.sims, item.job),
                    completions=completions.get(gid, 0),
                    hook_codes=tuple(item.hook_codes),
                    project_id=stack.projects[item.job.team],
                    team_path=paths[item.job.team],
                    stored_team=None if row is None else (int(row["team_project_id"]), str(row["team_name"])),
                )
            )
        twins = [o for o in outcomes if o.team_path.startswith("track")]
        if twins:
            # not a fault in time (it lasts the whole event): a check of where the twins' jobs were stored
            wrong = sorted(o.gitlab_job_id for o in twins if o.misattributed or o.status is None)
            names = sorted({o.team_path for o in twins})
            driver.probes.append(
                ProbeResult(
                    "subgroup twins (projects of one name in two subgroups) kept apart",
                    not wrong,
                    f"{len(twins)} jobs of {', '.join(names)}; "
                    f"lost or stored as another team's: {wrong or 'none'}",
                )
            )
        return summarise(
            scenario=scenario,
            outcomes=outcomes,
            faults=driver.faults,
            probes=driver.probes,
            board=load.records,
            memory_mb=sampler.peaks_mb,
            duplicate_rows=dup_rows,
            duplicate_scores=dup_scores,
            forged_job_queued=FORGED_JOB_ID in rows,
            killed_job=driver.killed_job,
            lateness_s=lateness,
            played_s=played_s,
            drained_s=drained_s,
            setup_s=dict(stack.setup_s),
            unknown_rows=sorted(set(rows) - set(driver.announced)),
            evaluation_s=_evaluation_durations(rows),
        )
    finally:
        for part in (load, watcher, sampler):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        if driver is not None:
            driver.close()
        stack.close()
