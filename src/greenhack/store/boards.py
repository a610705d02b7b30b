"""Re-rank the boards from stored numbers, and rescore everything after a YAML change.

:func:`refresh_boards` reads every rankable submission, hands them to ``greenhack.scoring.rank_submissions`` once
per board (live: public rows; frozen: public rows of submissions made up to the freeze cut; final: private rows)
and stores the ranked rows. :func:`rescore_event` first recomputes each submission's impacts from its stored
measurement and BoaviztAPI factors under the loaded YAML (``greenhack.impacts.impacts_from_factors``), so a change
of PUE, location factor, criterion, ranking method or weights needs no service at all.

Ranking reads every submission of the event, so it is not done after every evaluation: storing a result marks
the boards stale (``events.boards_pending``, committed with the result) and :func:`refresh_if_stale` - called by
the workers after storing, while waiting for Prometheus and whenever their queue is idle - re-ranks at most once
every ``min_interval_s`` per event, whichever worker gets there first. A worker dying between marking and
ranking loses nothing: the mark stays until some worker has ranked. Web requests never rank.

Each board is ranked with its rows' stored intervals (:mod:`greenhack.store.intervals`: bootstrap replicates,
measurement spread, the median of a re-measured submission), seeded by the event's seed and the board, so
``ranking.ties: significant`` gives the same shared ranks on every refresh; each score row keeps ``tied`` and the
intervals the board shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session, aliased

from greenhack.competition import EventPhase, board_keys, event_phases, phase_named, place_submission
from greenhack.config import EventConfig
from greenhack.errors import ImpactsError, TelemetryError
from greenhack.impacts import impacts_from_factors
from greenhack.impacts.models import JobImpacts, ServerFactors
from greenhack.scoring.models import RankedRow, RankInput
from greenhack.scoring.pareto import pareto_levels
from greenhack.scoring.ranking import rank_submissions
from greenhack.status import RANKABLE_STATUSES, Reason, Status
from greenhack.store import crud, queries
from greenhack.store.board_scope import EVERY_JOB, BoardScope, board_scope
from greenhack.store.db import store_errors
from greenhack.store.disclosure import public_reason
from greenhack.store.factsheets import apply_factsheet_policy
from greenhack.store.freeze import override_phase, phase_freeze_state
from greenhack.store.intervals import ShownIntervals, read_intervals
from greenhack.store.locks import try_xact_lock
from greenhack.store.models import BOARDS, Event, Impact, Measurement, Submission, Team, utcnow
from greenhack.store.pipeline_stages import phase_rank_inputs
from greenhack.telemetry.idle import attributed_energy_j, attributed_interval_j

__all__ = [
    "BOARDS_LOCK",
    "RESCORE_BATCH",
    "RescoreReport",
    "board_inputs",
    "boards_refresh_due",
    "refresh_boards",
    "refresh_if_stale",
    "rescore_event",
]


# the lock (greenhack.store.locks) of the worker that ranks one event's boards, named "<BOARDS_LOCK>:<event id>"
BOARDS_LOCK = "greenhack-boards"
# submissions whose impacts a rescore writes per batch (one DELETE, one multi-row INSERT, executemany UPDATEs)
RESCORE_BATCH = 1000


class RescoreReport(BaseModel):
    """What a rescore did: submissions whose impacts were recomputed, those left as they were (and why)."""

    model_config = ConfigDict(frozen=True)

    recomputed: int
    unchanged: int
    problems: list[str]
    boards: dict[str, int]


def _rankable_rows(*, session: Session, event_id: int, cut: datetime | None = None) -> Sequence[Any]:
    """Every rankable submission of the event (made up to ``cut``), with both splits' performance and every
    quantity of the expression registry (greenhack.quantities): the other criteria's impacts and the team's
    totals up to ``cut``, the same totals the board shows."""
    adpe, pe = aliased(Impact), aliased(Impact)
    team = queries.team_totals(event_id=event_id, until=cut)
    scored = queries.scored_rows()
    stmt = (
        sa.select(
            Submission.id,
            Submission.team_id,
            Team.name,
            Team.baseline,
            Submission.created_at,
            Submission.performance_public,
            Submission.performance_private,
            Submission.impact_total,
            Submission.energy_j,
            Submission.gwp_kgco2e,
            Submission.duration_s,
            Submission.server,
            Submission.status,
            Submission.reason,
            Submission.reason_code,
            Submission.excluded,
            Submission.excluded_reason,
            Submission.selected,
            adpe.total.label("adpe_kgsbeq"),
            pe.total.label("pe_mj"),
            team.c.team_gwp_kgco2e,
            team.c.team_energy_j,
            team.c.submissions_count.label("team_jobs"),
            scored.c.scored_rows,
        )
        .join(Team, Team.id == Submission.team_id)
        .outerjoin(adpe, sa.and_(adpe.submission_id == Submission.id, adpe.criterion == "adpe"))
        .outerjoin(pe, sa.and_(pe.submission_id == Submission.id, pe.criterion == "pe"))
        .outerjoin(team, team.c.team_id == Submission.team_id)
        .outerjoin(scored, scored.c.submission_id == Submission.id)
        .where(Submission.event_id == event_id, Submission.status.in_(RANKABLE_STATUSES))
        .where(Submission.remeasure_of.is_(None))  # a re-measurement counts in its original's row
        .order_by(Submission.id)
    )
    if cut is not None:
        stmt = stmt.where(Submission.created_at <= cut)
    with store_errors("reading the boards' submissions"):
        return session.execute(stmt).all()


def _rank_input(r: Any, performance: float | None) -> RankInput:
    """One row of :func:`_rankable_rows` as the ranking sees it, with the board's ``performance``."""
    excluded = None
    if r.excluded:
        excluded = f"excluded by the organisers: {r.excluded_reason}"
    elif r.status == Status.NEEDS_REVIEW:
        # the note is on the public board: only the public part of the reason (admins read it on the page)
        reason = public_reason(r.status, Reason.stored(code=r.reason_code, text=r.reason))
        excluded = f"needs review: {reason}" if reason else "needs review"
    return RankInput(
        submission_id=r.id,
        team=r.name,
        submitted_at=r.created_at,
        performance=performance,
        impact=r.impact_total,
        energy_j=r.energy_j,
        gwp_kgco2e=r.gwp_kgco2e,
        duration_s=r.duration_s,
        excluded=excluded,
        adpe_kgsbeq=r.adpe_kgsbeq,
        pe_mj=r.pe_mj,
        team_gwp_kgco2e=r.team_gwp_kgco2e,
        team_energy_j=r.team_energy_j,
        team_jobs=int(r.team_jobs) if r.team_jobs is not None else None,
        scored_rows=int(r.scored_rows) if r.scored_rows is not None else None,
        baseline=bool(r.baseline),  # the organisers' (Team.baseline): listed, never ranked
        selected=bool(r.selected),
    )


def _team_totals_until(
    session: Session, *, event_id: int, cut: datetime | None, scope: BoardScope = EVERY_JOB
) -> dict[int, tuple[Any, ...]]:
    """Per team id: its totals over the jobs made up to ``cut`` (the frozen board's team quantities) in
    ``scope`` (the board's phase and track)."""
    team = queries.team_totals(event_id=event_id, until=cut, scope=scope)
    with store_errors("reading the teams' totals at the cut"):
        rows = session.execute(
            sa.select(team.c.team_id, team.c.team_gwp_kgco2e, team.c.team_energy_j, team.c.submissions_count)
        ).all()
    return {r.team_id: (r.team_gwp_kgco2e, r.team_energy_j, r.submissions_count) for r in rows}


def board_inputs(*, session: Session, event_id: int, board: str, cut: datetime | None) -> list[RankInput]:
    """The ranking's view of every rankable submission of one board."""
    rows = _rankable_rows(session=session, event_id=event_id, cut=cut)
    return [_rank_input(r, r.performance_private if board == "final" else r.performance_public) for r in rows]


def _chart_front(inputs: Sequence[RankInput], higher_is_better: bool) -> set[int | str]:
    """Submissions on the Pareto front among every usable submission of the teams on the board (the chart's
    front; a baseline moves no team off it)."""
    usable: list[tuple[RankInput, float, float]] = [
        (i, i.performance, i.impact)
        for i in inputs
        if i.excluded is None and i.performance is not None and i.impact is not None and not i.baseline
    ]
    points = [(perf if higher_is_better else -perf, impact) for _, perf, impact in usable]
    return {
        i.submission_id for (i, _, _), level in zip(usable, pareto_levels(points), strict=True) if level == 1
    }


def _records(
    rows: Sequence[RankedRow],
    front: set[int | str],
    shown: Mapping[int, ShownIntervals] | None = None,
    *,
    phase: str = "",
    track: str = "",
) -> list[crud.ScoreRecord]:
    shown = shown or {}
    return [
        crud.ScoreRecord(
            submission_id=int(row.submission_id),
            rank=row.rank,
            score=row.score,
            pareto=row.submission_id in front,
            best_of_team=row.counted,
            formula=row.formula,
            note=row.note,
            tied=row.tied,
            **asdict(shown.get(int(row.submission_id), ShownIntervals())),
            phase=phase,
            track=track,
        )
        for row in rows
    ]


def _board_seed(config: EventConfig, board: str) -> str:
    """What seeds a board's significance draws (``ranking.ties: significant``): the event's seed and the board, so
    the boards draw apart and every refresh draws the same."""
    return f"{config.event.split_seed}:{board}"


def refresh_boards(
    *, session: Session, event_id: int, config: EventConfig, now: datetime | None = None
) -> dict[str, int]:
    """Re-rank the live, frozen and final boards of every phase and track (``competition.board_keys``); return
    how many submissions each lists, by ``BoardKey.text`` (``live``, ``frozen``, ``final`` for an event without
    phases and tracks; ``practice/a100/live`` otherwise).

    Each board ranks the submissions of its phase (by GitLab's created_at) that ran on its track's servers,
    with its phase's ranking rule (``phases[].per_team``). A phase's frozen board exists once it has a cut (its
    freeze time, or an admin's freeze made while it was open). The first
    statement locks the event's row (and clears its stale mark): every write of a result also updates that row,
    so no result commits while the boards are ranked and all three boards come from one view of the data.
    """
    now = now or utcnow()
    with store_errors("locking the event's boards"):
        session.execute(
            sa.update(Event)
            .where(Event.id == event_id)
            .values(boards_pending=0, boards_refreshed_at=now)
            .execution_options(synchronize_session=False)
        )
    event = queries.get_event(session=session, event_id=event_id)
    phases = event_phases(config)
    cuts = _phase_cuts(phases, now=now, override=event.frozen_override, frozen_at=event.frozen_at)
    # every board ranks the same submissions (the frozen one those made up to the cut; the final one with the
    # private rows' performance), so they are read, and their train+predict pipelines folded, once: a pipeline is
    # ranked once, on its predict row, with the footprint of both phases; each row folds on its own, so the frozen
    # subset of the folded rows is the folded frozen subset
    rows = _rankable_rows(session=session, event_id=event_id)
    private = {r.id: r.performance_private for r in rows}
    team_of = {r.id: r.team_id for r in rows}
    server_of = {r.id: r.server for r in rows}
    folded = phase_rank_inputs(
        session, event_id=event_id, inputs=[_rank_input(r, r.performance_public) for r in rows], config=config
    )
    folded = apply_factsheet_policy(session, inputs=folded, config=config)  # factsheet.invalid: unranked
    # each row's stored intervals: its replicates and measurement spread for ranking.ties, what its row shows
    intervals = read_intervals(
        session, event_id=event_id, ids=[int(i.submission_id) for i in folded], config=config
    )
    # each submission is on the boards of its phase (by created_at) and track (by its server); one created
    # outside every phase, or whose server's track is unknown, is on none
    placed: dict[tuple[str, str], list[RankInput]] = {}
    for i in folded:
        where = place_submission(
            config, phases, created_at=i.submitted_at, server_name=server_of[int(i.submission_id)], cut=None
        )
        if where.phase is not None and where.track is not None:
            placed.setdefault((where.phase.name, where.track), []).append(i)
    counts: dict[str, int] = {}
    records: dict[str, list[crud.ScoreRecord]] = {board: [] for board in BOARDS}
    scoped_totals: dict[tuple[BoardScope, datetime | None], dict[int, tuple[Any, ...]]] = {}
    for key in board_keys(config):
        phase = phase_named(phases, key.phase)
        cut = cuts[key.phase]
        if key.board == "frozen" and cut is None:
            counts[key.text] = 0
            continue
        scope = board_scope(config, phase=key.phase, track=key.track)
        members = placed.get((key.phase, key.track), [])
        if key.board == "frozen":
            assert cut is not None
            members = [i for i in members if i.submitted_at <= cut]
        if key.board == "frozen" or scope != EVERY_JOB:
            # the board's team quantities count the team's jobs of its phase and track (made up to the cut for
            # the frozen board), as the board shows them; live and final share theirs
            until = cut if key.board == "frozen" else None
            if (scope, until) not in scoped_totals:
                scoped_totals[scope, until] = _team_totals_until(
                    session, event_id=event_id, cut=until, scope=scope
                )
            totals = scoped_totals[scope, until]
            members = [_at_cut(i, totals.get(team_of[int(i.submission_id)])) for i in members]
        if key.board == "final":
            members = [replace(i, performance=private[int(i.submission_id)]) for i in members]
        split = "private" if key.board == "final" else "public"
        members = intervals.inputs(members, split=split)
        ranked = rank_submissions(
            members, phase.ranking, config.performance, impact=config.impact, seed=_board_seed(config, key.text)
        )
        front = _chart_front(members, config.performance.higher_is_better)
        shown = {int(i.submission_id): intervals.shown(i, split=split) for i in members}
        records[key.board] += _records(ranked, front, shown, phase=key.phase, track=key.track)
        counts[key.text] = len(ranked)
    for board in BOARDS:
        crud.replace_scores(session=session, event_id=event_id, board=board, records=records[board], now=now)
    return counts


def _phase_cuts(
    phases: Sequence[EventPhase], *, now: datetime, override: bool | None, frozen_at: datetime | None
) -> dict[str, datetime | None]:
    """Per phase name: the cut of its frozen board (an admin's freeze of that phase, else its YAML freeze
    time), None when it has none."""
    applies = override_phase(phases, now=now, override=override, frozen_at=frozen_at)
    cuts: dict[str, datetime | None] = {}
    for phase in phases:
        mine = applies == phase.name
        state = phase_freeze_state(
            phase, now=now, override=override if mine else None, frozen_at=frozen_at if mine else None
        )
        cuts[phase.name] = state.cut if state.cut is not None else phase.freeze
    return cuts


def _at_cut(row: RankInput, totals: tuple[Any, ...] | None) -> RankInput:
    gwp, energy, jobs = totals if totals is not None else (None, None, None)
    return replace(
        row, team_gwp_kgco2e=gwp, team_energy_j=energy, team_jobs=int(jobs) if jobs is not None else None
    )


def boards_refresh_due(*, session: Session, event_id: int, now: datetime, min_interval_s: float) -> bool:
    """Whether the boards are stale and were last ranked at least ``min_interval_s`` seconds ago (a read only:
    callers check it in a short transaction before :func:`refresh_if_stale` takes any lock)."""
    with store_errors("reading the boards' state"):
        row = session.execute(
            sa.select(Event.boards_pending, Event.boards_refreshed_at).where(Event.id == event_id)
        ).one_or_none()
    if row is None or row.boards_pending <= 0:
        return False
    last = row.boards_refreshed_at
    return last is None or now - last >= timedelta(seconds=min_interval_s) or last > now


def refresh_if_stale(
    *,
    session: Session,
    event_id: int,
    config: EventConfig,
    now: datetime | None = None,
    min_interval_s: float = 0.0,
) -> dict[str, int] | None:
    """Re-rank the boards if results were stored since they were last ranked, and not within the last
    ``min_interval_s`` seconds; return the boards' counts, or None when nothing was done.

    Any number of workers may call it at once: on PostgreSQL one takes a per-event advisory lock and the others
    return at once; the stale mark is cleared in the same transaction that writes the boards, so a worker that
    dies midway leaves it for the next one.
    """
    now = now or utcnow()
    if not try_xact_lock(session, f"{BOARDS_LOCK}:{event_id}"):  # another worker is ranking them
        return None
    due_before = now - timedelta(seconds=min_interval_s)
    with store_errors("claiming the boards' refresh"):
        # the first statement writes (SQLite takes its write lock; PostgreSQL locks the event row) and checks
        # the mark again under the lock: another worker may have ranked meanwhile
        claimed = session.execute(
            sa.update(Event)
            .where(
                Event.id == event_id,
                Event.boards_pending > 0,
                sa.or_(
                    Event.boards_refreshed_at.is_(None),
                    Event.boards_refreshed_at <= due_before,
                    Event.boards_refreshed_at > now,
                ),
            )
            .values(boards_pending=0, boards_refreshed_at=now)
            .returning(Event.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    if claimed is None:
        return None
    return refresh_boards(session=session, event_id=event_id, config=config, now=now)


def _idle_power_w(config: EventConfig, server_name: str, *, stored_w: float | None) -> float | None:
    """The idle power to subtract on a rescore: the YAML's ``idle_power_w`` for the server when it gives one (an
    admin's correction wins), else what the evaluation measured over the calibration period and stored."""
    for server in config.servers:
        if server.name == server_name and server.idle_power_w is not None:
            return server.idle_power_w
    return stored_w


def rescore_event(
    *,
    session: Session,
    event_id: int,
    config: EventConfig,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = RESCORE_BATCH,
) -> RescoreReport:
    """Recompute every measured submission's impacts under ``config`` from stored factors, then re-rank once.

    A submission whose stored factors cannot serve the new YAML (e.g. another location) keeps its impacts and
    is named in ``problems``; nothing else is touched. Impacts are written ``batch_size`` submissions at a time
    (:func:`greenhack.store.crud.record_impacts_many`); ``progress(done, total)`` is called before the first batch
    and after each, where a caller may commit (the admin task runner does: its progress shows, and row locks are
    held briefly).
    """
    with store_errors("reading stored measurements"):
        measured = session.execute(
            sa.select(
                Measurement.submission_id,
                # as text: the submissions of one server share their factors, parsed once per distinct text
                sa.cast(Measurement.factors, sa.Text).label("factors_json"),
                Measurement.server,
                Measurement.total_energy_j,
                Measurement.duration_s,
                Measurement.idle_power_w,
                Measurement.energy_low_j,
                Measurement.energy_high_j,
            )
            .join(Submission, Submission.id == Measurement.submission_id)
            .where(Submission.event_id == event_id)
            .order_by(Measurement.submission_id)
        ).all()
    parsed: dict[str, tuple[ServerFactors, bool]] = {}
    recomputed, problems = 0, []
    if progress is not None:
        progress(0, len(measured))
    for first in range(0, len(measured), batch_size):
        batch: list[tuple[int, JobImpacts]] = []
        unchanged_factors: set[int] = set()
        for row in measured[first : first + batch_size]:
            try:
                if row.factors_json is None or row.factors_json == "null":
                    raise ImpactsError("no stored impact factors")
                if row.factors_json not in parsed:
                    parsed[row.factors_json] = _parse_factors(row.factors_json)
                factors, as_stored = parsed[row.factors_json]
                batch.append((row.submission_id, _rescored(row, factors, config)))
            except (ValidationError, ImpactsError, TelemetryError) as exc:
                problems.append(f"submission {row.submission_id}: {str(exc).splitlines()[0]}")
                continue
            if as_stored:
                unchanged_factors.add(row.submission_id)
        crud.record_impacts_many(
            session=session, event_id=event_id, impacts=batch, unchanged_factors=unchanged_factors
        )
        recomputed += len(batch)
        if progress is not None:
            progress(min(first + batch_size, len(measured)), len(measured))
    boards = refresh_boards(session=session, event_id=event_id, config=config, now=now)
    return RescoreReport(
        recomputed=recomputed, unchanged=len(measured) - recomputed, problems=problems, boards=boards
    )


def _parse_factors(text: str) -> tuple[ServerFactors, bool]:
    """Stored factors, and whether storing them again would write exactly what is stored.

    Raises:
        ValidationError: they are not factors.
    """
    factors = ServerFactors.model_validate_json(text)
    return factors, factors.model_dump(mode="json") == json.loads(text)


def _rescored(row: Any, factors: ServerFactors, config: EventConfig) -> JobImpacts:
    """One stored measurement's impacts under ``config``.

    Raises:
        ImpactsError: factors that cannot serve the YAML; TelemetryError: ``impact.idle: subtract`` without a
            known idle power.
    """
    idle_power_w = _idle_power_w(config, row.server, stored_w=row.idle_power_w)
    charged_j = attributed_energy_j(
        row.total_energy_j, row.duration_s, idle=config.impact.idle, idle_power_w=idle_power_w
    )
    low_j, high_j = attributed_interval_j(
        row.energy_low_j, row.energy_high_j, row.duration_s, idle=config.impact.idle, idle_power_w=idle_power_w
    )
    return impacts_from_factors(
        factors, config.impact, charged_j, row.duration_s, energy_low_j=low_j, energy_high_j=high_j
    )
