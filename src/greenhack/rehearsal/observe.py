"""What the rehearsal measures while it runs, from the outside, as visitors and teams would see it.

* :class:`BoardLoad`: ``clients`` board visitors, each fetching ``/api/v1/leaderboard`` every ``poll_s`` with its
  last ETag (a 304 when nothing changed), on one asyncio loop in a thread; every request's latency and status.
* :class:`BoardWatcher`: when each job's row first shows a final status through the JSON API
  (``/api/v1/submissions``, newest first, paged only as deep as the oldest job still awaited).
* :class:`MemorySampler`: resident memory of the web and worker processes (``/proc/PID/status``), peak kept.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

__all__ = ["BoardLoad", "BoardWatcher", "FINAL", "MemorySampler", "RequestRecord", "peak_rss_mb"]

FINAL = ("scored", "invalid", "needs_review", "failed")


@dataclass(frozen=True)
class RequestRecord:
    """One board request: when it started (monotonic s), how long it took (s), its HTTP status (0: no answer)."""

    at_s: float
    latency_s: float
    status: int


class BoardLoad:
    """Board visitors polling the leaderboard (start/stop; ``records`` afterwards)."""

    def __init__(self, base_url: str, *, clients: int, poll_s: float, seed: int = 0) -> None:
        self.base_url = base_url
        self.clients = clients
        self.poll_s = poll_s
        self.records: list[RequestRecord] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-load", daemon=True)
        self._rng = random.Random(seed)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0, limits=limits) as http:
            await asyncio.gather(
                *(self._client(http, self._rng.uniform(0, self.poll_s)) for _ in range(self.clients))
            )

    async def _client(self, http: httpx.AsyncClient, offset_s: float) -> None:
        await asyncio.sleep(offset_s)
        etag: str | None = None
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                answer = await http.get(
                    "/api/v1/leaderboard", headers={"If-None-Match": etag} if etag else {}
                )
                status = answer.status_code
                if status == 200:
                    etag = answer.headers.get("etag")
            except httpx.HTTPError:
                status = 0
            took = time.monotonic() - began
            self.records.append(RequestRecord(began, took, status))
            await asyncio.sleep(max(0.0, self.poll_s - took))


class BoardWatcher:
    """Records when each awaited GitLab job first appears on the board's API with a final status.

    ``expect(job_id, at_s, created_at)`` tells it a job (created in GitLab at ``created_at``, ISO 8601) was
    announced at ``at_s`` (monotonic); ``seen[job_id]`` is when its final row was first read. Polls every
    ``poll_s`` (the figure's resolution); the list is newest first, so paging stops below the oldest awaited job.
    """

    def __init__(self, base_url: str, *, poll_s: float = 0.5, page: int = 200) -> None:
        self.base_url = base_url
        self.poll_s = poll_s
        self.page = page
        self.announced: dict[int, float] = {}
        self.created: dict[int, datetime] = {}
        self.seen: dict[int, float] = {}
        self.status: dict[int, str] = {}
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-watcher", daemon=True)

    def expect(self, job_id: int, at_s: float, created_at: datetime) -> None:
        with self._lock:
            self.announced.setdefault(job_id, at_s)
            self.created.setdefault(job_id, created_at)

    def pending(self) -> set[int]:
        with self._lock:
            return set(self.announced) - set(self.seen)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30.0) as http:
            while not self._stop.wait(self.poll_s):
                try:
                    self._poll(http)
                except httpx.HTTPError:
                    self.errors += 1

    def _poll(self, http: httpx.Client) -> None:
        waiting = self.pending()
        if not waiting:
            return
        oldest = min(self.created[j] for j in waiting)
        offset = 0
        while waiting:
            answer = http.get("/api/v1/submissions", params={"limit": self.page, "offset": offset})
            now = time.monotonic()
            if answer.status_code != 200:
                self.errors += 1
                return
            rows = answer.json()
            with self._lock:
                for row in rows:
                    job = int(row["gitlab_job_id"])
                    if job in waiting and row["status"] in FINAL:
                        self.seen.setdefault(job, now)
                        self.status[job] = row["status"]
                        waiting.discard(job)
            if len(rows) < self.page or datetime.fromisoformat(rows[-1]["created_at"]) < oldest:
                return
            offset += self.page


def _status_kb(pid: int, field_name: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), MiB; None once it is gone."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb / 1024.0


@dataclass
class MemorySampler:
    """Samples the peak resident memory of named processes every ``every_s`` (processes may come and go)."""

    pids: Callable[[], dict[str, int | None]]
    every_s: float = 1.0
    peaks_mb: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="memory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample()

    def sample(self) -> None:
        for name, pid in self.pids().items():
            if pid is None:
                continue
            peak = peak_rss_mb(pid)
            if peak is not None:
                self.peaks_mb[name] = max(self.peaks_mb.get(name, 0.0), peak)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()
