"""Results back where teams work: a commit status and one comment per submission, in GitLab.

- **Commit status** ``greenhack`` on the submission's commit (``POST /projects/:id/statuses/:sha``): ``pending``
  while measuring, then ``success`` (scored: metric, energy, gCO2e, rank in one line) or ``failed`` (invalid
  predictions or a platform failure, with the reason), linking to the submission page. GitLab keeps at most 255
  characters of the description. A measurement waiting for the organisers' review stays ``pending``.
- **One comment per submission** with the full breakdown. Commit comments (``/repository/commits/:sha/comments``)
  cannot be edited through the API, so the comment is a *thread note* on the commit
  (``/repository/commits/:sha/discussions``, editable with ``PUT .../discussions/:id/notes/:note_id``) or, when
  the commit belongs to an open merge request, a note on that merge request (where the team reviews).

Idempotent: the comment's first line is a hidden marker ``<!-- greenhack:submission:ID -->``; a re-evaluation finds
the platform user's note whose first line is that marker (a note someone else wrote with the marker is ignored)
and edits it, and a status already in the wanted state with the same text is not posted again.

Team content is inert: what a team controls (its project's name, the ids and labels its predictions' problems
quote, reasons built from them) is shown only inside code spans (:func:`code_span`), where GitLab renders no HTML
or Markdown and makes no @mention, reference or link, and never on the marker's line, so it can neither hide part
of the comment behind ``<!--`` nor pass for another submission's marker. GitLab's status state machine has no
``pending`` → ``pending`` transition: to change the text of a pending status the old one is first ``canceled``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from greenhack.gitlab.models import CommitStatus, MergeRequestRef, NoteRef
from greenhack.status import Status
from greenhack.units import Scale, format_quantity, pick_scale
from greenhack.wording import rank_text

__all__ = [
    "STATUS_NAME",
    "FeedbackGitLab",
    "GitLabReporter",
    "PhaseLine",
    "SubmissionReport",
    "code_span",
    "comment_body",
    "marker",
    "status_description",
    "status_state",
    "GitLabState",
]

log = logging.getLogger(__name__)

STATUS_NAME = "greenhack"
_MAX_DESCRIPTION = 255
_MAX_SHOWN = 300  # characters of one team value in the comment

GitLabState = Literal["pending", "running", "success", "failed", "canceled"]


class FeedbackGitLab(Protocol):
    """The GitLab calls the reporter makes (:class:`~greenhack.gitlab.gateway.GitLabGateway`)."""

    def current_user_id(self) -> int: ...

    def commit_statuses(self, project: int, sha: str, *, name: str) -> list[CommitStatus]: ...

    def set_commit_status(
        self,
        project: int,
        sha: str,
        *,
        state: str,
        name: str,
        description: str,
        target_url: str | None,
        ref: str | None,
        pipeline_id: int | None,
    ) -> CommitStatus: ...

    def commit_merge_requests(self, project: int, sha: str) -> list[MergeRequestRef]: ...

    def commit_notes(self, project: int, sha: str) -> list[NoteRef]: ...

    def create_commit_note(self, project: int, sha: str, body: str) -> NoteRef: ...

    def update_commit_note(
        self, project: int, sha: str, discussion_id: str, note_id: int, body: str
    ) -> None: ...

    def merge_request_notes(self, project: int, mr_iid: int) -> list[NoteRef]: ...

    def create_merge_request_note(self, project: int, mr_iid: int, body: str) -> NoteRef: ...

    def update_merge_request_note(self, project: int, mr_iid: int, note_id: int, body: str) -> None: ...


@dataclass(frozen=True)
class PhaseLine:
    """One measured job of a two-phase pipeline (train or predict), for the breakdown."""

    phase: str
    job_id: int
    energy_j: float | None
    gwp_g: float | None
    duration_s: float | None


@dataclass(frozen=True)
class SubmissionReport:
    """What a team is told about one submission (public figures only: never the private split).

    Attributes:
        status: ``measuring`` or the evaluation's final status (scored, invalid, needs_review, failed).
        reason: why it is not scored, in words a team can act on.
        problems: every problem found in the predictions file, each with its place.
        performance / metric: the event metric on the public rows.
        energy_j, cpu_energy_j, gpu_energy_j (J), duration_s (s), gwp_g / gwp_use_g / gwp_embodied_g (gCO2e),
            impact_total in impact_unit (the event criterion).
        rank / ranked: place on the public board and how many are ranked; rank_note says why it has none.
        budget_g / team_gwp_g / submissions_left_today / submissions_left_total: the team's account after this
            submission (``submissions_left_total`` None when the event sets no total).
        factsheet_reason / factsheet_problems: why its fact sheet is missing or invalid, and every problem in it.
        lifecycle: how the ranked footprint was computed for a two-phase pipeline.
        page_url: the submission page on the board.
    """

    submission_id: int
    project_id: int
    sha: str
    ref: str | None
    pipeline_id: int | None
    job_id: int
    job_url: str | None
    team: str
    status: str
    reason: str | None = None
    problems: tuple[str, ...] = ()
    metric: str | None = None
    performance: float | None = None
    energy_j: float | None = None
    cpu_energy_j: float | None = None
    gpu_energy_j: float | None = None
    duration_s: float | None = None
    gwp_g: float | None = None
    gwp_use_g: float | None = None
    gwp_embodied_g: float | None = None
    impact_total: float | None = None
    impact_unit: str | None = None
    criterion: str | None = None
    measurement_valid: bool | None = None
    rank: int | None = None
    ranked: int | None = None
    rank_note: str | None = None
    team_gwp_g: float | None = None
    budget_g: float | None = None
    submissions_left_today: int | None = None
    submissions_left_total: int | None = None
    factsheet_reason: str | None = None
    factsheet_problems: tuple[str, ...] = ()
    phases: tuple[PhaseLine, ...] = field(default=())
    lifecycle: str | None = None
    page_url: str = ""
    updated_at: datetime | None = None


def marker(submission_id: int) -> str:
    """The hidden marker that identifies a submission's comment."""
    return f"<!-- greenhack:submission:{submission_id} -->"


def _is_marked(body: str, tag: str) -> bool:
    return body.split("\n", 1)[0].strip() == tag


def code_span(value: str) -> str:
    """``value`` as a Markdown code span that GitLab shows literally: no HTML, no Markdown, no @mention, no link.

    White space (a newline would end the span's paragraph) is folded to single spaces, other control characters
    become U+FFFD, and the value is shortened to 300 characters. The fence is one backtick longer than the longest
    run of backticks inside, padded with a space on each side when the value starts or ends with a backtick
    (CommonMark strips exactly one space from each side).
    """
    text = _short("".join(c if c.isprintable() or c.isspace() else "\ufffd" for c in value), _MAX_SHOWN)
    if not text:
        return "(empty)"
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _wh(energy_j: float | None, scale: Scale | None = None) -> str:
    """An energy (J) in ``scale`` (one unit for the note's energies), or in the unit that suits it alone."""
    if energy_j is None:
        return "?"
    return scale.format(energy_j) if scale is not None else format_quantity(energy_j, "J")


def _g(gwp_g: float | None, scale: Scale | None = None) -> str:
    """A GWP (gCO2e) in ``scale`` (one unit for the note's job figures), or in the unit that suits it alone."""
    if gwp_g is None:
        return "?"
    return scale.format(gwp_g) if scale is not None else format_quantity(gwp_g, "gCO2e")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def status_state(report: SubmissionReport) -> GitLabState:
    """``pending`` while measuring or awaiting review, ``success`` when scored, ``failed`` otherwise."""
    if report.status in (Status.MEASURING, Status.NEEDS_REVIEW):
        return "pending"
    return "success" if report.status == Status.SCORED else "failed"


def _rank_text(report: SubmissionReport) -> str:
    return rank_text(report.rank, ranked=report.ranked, note=report.rank_note)


def status_description(report: SubmissionReport) -> str:
    """The one-line summary of the commit status (at most 255 characters)."""
    if report.status == Status.MEASURING:
        text = f"measuring job {report.job_id}: energy, carbon and score on their way"
    elif (
        report.status == Status.SCORED and report.performance is None
    ):  # a train phase: ranked with its predict job
        text = f"{_wh(report.energy_j)} · {_g(report.gwp_g)} · {report.reason or 'not ranked on its own'}"
    elif report.status == Status.SCORED:
        metric = (
            f"{report.metric} {report.performance:.4g}"
            if report.performance is not None
            else "no performance"
        )
        text = f"{metric} · {_wh(report.energy_j)} · {_g(report.gwp_g)} · {_rank_text(report)}"
    elif report.status == Status.INVALID:
        text = f"invalid: {report.reason or 'see the comment'}"
    elif report.status == Status.NEEDS_REVIEW:
        text = f"measured ({_wh(report.energy_j)}), awaiting the organisers' review: {report.reason or ''}"
    else:
        text = (
            f"platform failure, not counted in your daily limit: {report.reason or 'see the submission page'}"
        )
    return _short(text, _MAX_DESCRIPTION)


_HEADLINES: dict[str, str] = {  # by Status (a StrEnum: the stored strings look them up)
    Status.SCORED: "scored",
    Status.INVALID: "invalid: not scored",
    Status.NEEDS_REVIEW: "measured, awaiting the organisers' review",
    Status.FAILED: "the platform could not evaluate it",
    Status.MEASURING: "being measured",
}

_ADVICE: dict[str, str] = {
    Status.INVALID: "Fix what is listed below and push again; the job's log in GitLab shows what your command printed.",
    Status.NEEDS_REVIEW: (
        "Nothing to do on your side: the measurement could not be trusted as is (telemetry gap or another job on "
        "the server at the same time). The organisers will review it; it is not ranked until then."
    ),
    Status.FAILED: (
        "Nothing to do on your side: this is the platform's failure, not your code's. It does not count toward "
        "your daily limit; the organisers are told, and you may push again."
    ),
}


def comment_body(report: SubmissionReport) -> str:
    """The Markdown comment with the full breakdown; its first line is the submission's marker.

    Every value the team controls is in a :func:`code_span`.
    """
    headline = _HEADLINES.get(report.status, report.status)
    lines = [
        marker(report.submission_id),
        f"#### greenhack · submission {report.submission_id} ({code_span(report.team)}): {headline}",
        "",
    ]
    if report.status == Status.SCORED:
        lines.append(f"**{_rank_text(report)}** on the public board.")
        lines.append("")
    if report.reason:
        lines += [f"**Why:** {code_span(report.reason)}", ""]
    if report.problems:
        lines.append("**Problems in the predictions file:**")
        lines += [f"- {code_span(p)}" for p in report.problems[:20]]
        if len(report.problems) > 20:
            lines.append(f"- … and {len(report.problems) - 20} more (see the submission page)")
        lines.append("")
    if report.factsheet_problems:
        lines.append("**Problems in the fact sheet:**")
        lines += [f"- {code_span(p)}" for p in report.factsheet_problems[:20]]
        lines.append("")
    elif report.factsheet_reason:
        lines += [f"**Fact sheet:** {code_span(report.factsheet_reason)}", ""]
    if report.status in _ADVICE:
        lines += [_ADVICE[report.status], ""]
    rows: list[tuple[str, str]] = []
    # one unit per quantity in the note: the job's energies, the job's carbon, the team's carbon
    energy = pick_scale(
        [report.energy_j, report.cpu_energy_j, report.gpu_energy_j, *(p.energy_j for p in report.phases)], "J"
    )
    carbon = pick_scale(
        [report.gwp_g, report.gwp_use_g, report.gwp_embodied_g, *(p.gwp_g for p in report.phases)], "gCO2e"
    )
    team = pick_scale([report.team_gwp_g, report.budget_g], "gCO2e")
    if report.performance is not None and report.metric:
        rows.append((f"{report.metric} (public rows)", f"{report.performance:.4f}"))
    if report.energy_j is not None:
        parts = []
        if report.cpu_energy_j is not None:
            parts.append(f"CPU+DRAM {_wh(report.cpu_energy_j, energy)}")
        if report.gpu_energy_j is not None:
            parts.append(f"GPU {_wh(report.gpu_energy_j, energy)}")
        rows.append(("energy", _wh(report.energy_j, energy) + (f" ({', '.join(parts)})" if parts else "")))
    if report.duration_s is not None:
        rows.append(("duration", f"{report.duration_s:.1f} s"))
    if report.gwp_g is not None:
        split = (
            f" (use {_g(report.gwp_use_g, carbon)}, embodied {_g(report.gwp_embodied_g, carbon)})"
            if report.gwp_use_g is not None and report.gwp_embodied_g is not None
            else ""
        )
        rows.append(("carbon", _g(report.gwp_g, carbon) + split))
    if report.impact_total is not None and report.criterion not in (None, "gwp"):
        impact = format_quantity(report.impact_total, report.impact_unit or "")
        rows.append((f"impact ({report.criterion})", impact))
    if report.measurement_valid is False:
        rows.append(("telemetry", "incomplete (a gap or an exporter down): figures are a lower bound"))
    for phase in report.phases:
        rows.append(
            (f"{phase.phase} job {phase.job_id}", f"{_wh(phase.energy_j, energy)}, {_g(phase.gwp_g, carbon)}"
             + (f", {phase.duration_s:.0f} s" if phase.duration_s is not None else ""))
        )  # fmt: skip
    if report.lifecycle:
        rows.append(("ranked footprint", report.lifecycle))
    if report.team_gwp_g is not None:
        budget = f" of {_g(report.budget_g, team)} budget" if report.budget_g is not None else ""
        rows.append(("team so far", f"{_g(report.team_gwp_g, team)}{budget}"))
    if report.submissions_left_today is not None:
        rows.append(("submissions left today", str(report.submissions_left_today)))
    if report.submissions_left_total is not None:
        rows.append(("submissions left in the event", str(report.submissions_left_total)))
    if rows:
        lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    links = [f"[submission page]({report.page_url})"] if report.page_url else []
    if report.job_url:
        links.append(f"[job {report.job_id}]({report.job_url})")
    if links:
        lines.append(" · ".join(links))
    when = f" at {report.updated_at.strftime('%Y-%m-%d %H:%M UTC')}" if report.updated_at else ""
    lines.append(f"<sub>Updated{when}; a re-evaluation edits this comment.</sub>")
    return "\n".join(lines)


class GitLabReporter:
    """Posts statuses and comments through GitLab with the platform's token.

    Args:
        gitlab: the gateway (platform token).
        status_name: the commit status's name (its "context").
    """

    def __init__(self, gitlab: FeedbackGitLab, *, status_name: str = STATUS_NAME) -> None:
        self._gitlab = gitlab
        self._name = status_name
        self._user_id: int | None = None

    def set_status(self, report: SubmissionReport) -> bool:
        """Bring the commit status to the report's state and text; False when it already was.

        Raises:
            GitLabError: GitLab refused or did not answer (the caller retries later).
        """
        state, description = status_state(report), status_description(report)
        current = [
            s
            for s in self._gitlab.commit_statuses(report.project_id, report.sha, name=self._name)
            if report.ref is None or s.ref in (None, report.ref)
        ]
        latest = max(current, key=lambda s: s.id) if current else None
        if latest is not None and latest.status == state and latest.description == description:
            return False
        if latest is not None and latest.status in ("pending", "running") and state in ("pending", "running"):
            # GitLab cannot move pending → pending (nor running → running/pending): close the old one first
            self._post(report, "canceled", "superseded")
        self._post(report, state, description)
        return True

    def _post(self, report: SubmissionReport, state: str, description: str) -> None:
        self._gitlab.set_commit_status(
            report.project_id,
            report.sha,
            state=state,
            name=self._name,
            description=description,
            target_url=report.page_url or None,
            ref=report.ref,
            pipeline_id=report.pipeline_id,
        )

    def _me(self) -> int:
        if self._user_id is None:
            self._user_id = self._gitlab.current_user_id()
        return self._user_id

    def upsert_comment(self, report: SubmissionReport) -> Literal["created", "edited", "unchanged"]:
        """Create the submission's comment, or edit the platform's note that carries its marker.

        Raises:
            GitLabError: GitLab refused or did not answer.
        """
        body = comment_body(report)
        tag = marker(report.submission_id)
        me = self._me()
        requests = [
            m
            for m in self._gitlab.commit_merge_requests(report.project_id, report.sha)
            if m.project_id == report.project_id
        ]
        for mr in requests:
            for note in self._gitlab.merge_request_notes(report.project_id, mr.iid):
                if note.author_id == me and _is_marked(note.body, tag):
                    if note.body == body:
                        return "unchanged"
                    self._gitlab.update_merge_request_note(report.project_id, mr.iid, note.id, body)
                    return "edited"
        for note in self._gitlab.commit_notes(report.project_id, report.sha):
            if note.author_id == me and _is_marked(note.body, tag) and note.discussion_id is not None:
                if note.body == body:
                    return "unchanged"
                self._gitlab.update_commit_note(
                    report.project_id, report.sha, note.discussion_id, note.id, body
                )
                return "edited"
        opened = [m for m in requests if m.state == "opened"]
        if opened:
            self._gitlab.create_merge_request_note(
                report.project_id, max(opened, key=lambda m: m.iid).iid, body
            )
        else:
            self._gitlab.create_commit_note(report.project_id, report.sha, body)
        return "created"

    def publish(self, report: SubmissionReport) -> None:
        """The status and, once the evaluation is final, the comment."""
        self.set_status(report)
        if report.status != "measuring":
            self.upsert_comment(report)
