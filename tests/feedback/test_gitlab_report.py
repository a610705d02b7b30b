"""Commit statuses and the one editable comment per submission, against the fake GitLab's documented API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fb_world import World

from greenhack.feedback.gitlab_report import (
    GitLabReporter,
    SubmissionReport,
    comment_body,
    marker,
    status_description,
)
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client


@pytest.fixture
def reporter(world: World) -> GitLabReporter:
    return GitLabReporter(GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0)))


def _report(world: World, job: dict[str, Any], **changes: Any) -> SubmissionReport:
    pipeline = job["pipeline"]
    assert isinstance(pipeline, dict)
    base = SubmissionReport(
        submission_id=41,
        project_id=world.project_id,
        sha=str(pipeline["sha"]),
        ref="main",
        pipeline_id=int(pipeline["id"]),
        job_id=int(job["id"]),
        job_url=str(job["web_url"]),
        team="team-a",
        status="scored",
        metric="accuracy",
        performance=0.9125,
        energy_j=148_320.0,
        cpu_energy_j=50_000.0,
        gpu_energy_j=98_320.0,
        duration_s=62.5,
        gwp_g=12.34,
        gwp_use_g=4.1,
        gwp_embodied_g=8.24,
        impact_total=0.01234,
        impact_unit="kgCO2e",
        criterion="gwp",
        measurement_valid=True,
        rank=3,
        ranked=17,
        team_gwp_g=40.0,
        budget_g=500.0,
        submissions_left_today=7,
        page_url="https://board.example.org/submissions/41",
        updated_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    )
    return replace(base, **changes)


def _finished_job(world: World) -> dict[str, Any]:
    job, _ = world.running_job()
    world.fake.set_job_status(int(job["id"]), "success", finished_at=datetime.now(UTC))
    return job


def test_pending_while_measuring_then_success_with_a_one_line_summary(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    scored = _report(world, job)
    reporter.publish(replace(scored, status="measuring"))
    (pending,) = world.fake.statuses_of(world.project_id, scored.sha)
    assert pending["status"] == "pending" and pending["name"] == "greenhack"
    assert pending["target_url"] == scored.page_url
    assert world.fake.commit_notes_of(world.project_id, scored.sha) == []  # no comment while measuring

    reporter.publish(scored)
    statuses = world.fake.statuses_of(world.project_id, scored.sha)
    assert [s["status"] for s in statuses] == ["success"]  # the pending status moved to success
    assert statuses[0]["description"] == "accuracy 0.9125 · 41.2 Wh · 12.3 gCO2e · rank 3/17"
    (note,) = world.fake.commit_notes_of(world.project_id, scored.sha)
    assert note["body"].startswith(marker(41))
    assert "| accuracy (public rows) | 0.9125 |" in note["body"]
    assert "| energy | 41.2 Wh (CPU+DRAM 13.9 Wh, GPU 27.3 Wh) |" in note["body"]
    assert "| carbon | 12.3 gCO2e (use 4.1 gCO2e, embodied 8.24 gCO2e) |" in note["body"]
    assert "[submission page](https://board.example.org/submissions/41)" in note["body"]
    assert "| team so far | 40 gCO2e of 500 gCO2e budget |" in note["body"]


def test_re_evaluation_edits_the_comment_and_never_duplicates(world: World, reporter: GitLabReporter) -> None:
    job = _finished_job(world)
    first = _report(world, job)
    reporter.publish(first)
    requests_before = len(world.fake.requests)
    reporter.publish(first)  # the same report again: nothing written
    writes = [r for r in world.fake.requests[requests_before:] if r[0] in ("POST", "PUT")]
    assert writes == []
    assert len(world.fake.statuses_of(world.project_id, first.sha)) == 1

    again = replace(first, rank=1, performance=0.95)
    reporter.publish(again)
    notes = world.fake.commit_notes_of(world.project_id, first.sha)
    assert len(notes) == 1
    assert "**rank 1/17** on the public board." in notes[0]["body"]
    latest = world.fake.statuses_of(world.project_id, first.sha)[-1]
    assert latest["status"] == "success" and "rank 1/17" in latest["description"]


def test_a_second_submission_on_the_same_commit_gets_its_own_comment(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    reporter.publish(_report(world, job))
    reporter.publish(_report(world, job, submission_id=42, rank=5))
    bodies = [n["body"] for n in world.fake.commit_notes_of(world.project_id, str(job["pipeline"]["sha"]))]
    assert [b.splitlines()[0] for b in bodies] == [marker(41), marker(42)]


def test_a_note_someone_else_wrote_with_the_marker_is_left_alone(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    report = _report(world, job)
    teammate = world.fake.add_user("teammate")
    world.fake.add_commit_note(
        world.project_id, report.sha, f"{marker(41)} rank 1, trust me", author_id=teammate
    )
    reporter.publish(report)
    notes = world.fake.commit_notes_of(world.project_id, report.sha)
    assert [n["author"]["username"] for n in notes] == ["teammate", "greenhack-bot"]
    assert notes[0]["body"] == f"{marker(41)} rank 1, trust me"


def test_a_commit_of_an_open_merge_request_is_answered_on_the_merge_request(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    report = _report(world, job)
    iid = world.fake.add_merge_request(world.project_id, source_branch="faster-model", shas=[report.sha])
    reporter.publish(report)
    reporter.publish(replace(report, rank=2))
    assert world.fake.commit_notes_of(world.project_id, report.sha) == []
    (note,) = world.fake.mr_notes_of(world.project_id, iid)
    assert note["body"].startswith(marker(41)) and "rank 2/17" in note["body"]


def test_invalid_predictions_say_what_to_fix(world: World, reporter: GitLabReporter) -> None:
    job = _finished_job(world)
    problems = tuple(f"predictions.csv:{line}: label 'maybe' is not a known class" for line in range(2, 30))
    report = _report(
        world,
        job,
        status="invalid",
        reason="28 problems in predictions.csv",
        problems=problems,
        performance=None,
        rank=None,
    )
    reporter.publish(report)
    (status,) = world.fake.statuses_of(world.project_id, report.sha)
    assert status["status"] == "failed"
    assert status["description"] == "invalid: 28 problems in predictions.csv"
    (note,) = world.fake.commit_notes_of(world.project_id, report.sha)
    assert "Fix what is listed below and push again" in note["body"]
    assert "- `predictions.csv:2: label 'maybe' is not a known class`" in note["body"]
    assert "… and 8 more (see the submission page)" in note["body"]


def test_platform_failures_and_reviews_say_it_is_not_the_teams_doing(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    report = _report(world, job, rank=None)
    reporter.publish(replace(report, status="measuring"))
    review = replace(
        report, status="needs_review", reason="telemetry: a 40 s gap in the GPU exporter's samples"
    )
    reporter.publish(review)
    statuses = world.fake.statuses_of(world.project_id, report.sha)
    # GitLab has no pending -> pending transition: the measuring status is closed, a new pending one says why
    assert [s["status"] for s in statuses] == ["canceled", "pending"]
    assert statuses[-1]["description"].startswith(
        "measured (41.2 Wh), awaiting the organisers' review: telemetry"
    )
    failed = replace(report, status="failed", reason="GitLabUnavailable: GitLab did not answer for 2 h")
    reporter.publish(failed)
    latest = world.fake.statuses_of(world.project_id, report.sha)[-1]
    assert latest["status"] == "failed"
    assert latest["description"].startswith("platform failure, not counted in your daily limit:")
    (note,) = world.fake.commit_notes_of(world.project_id, report.sha)
    assert "this is the platform's failure, not your code's" in note["body"]


def test_descriptions_fit_gitlabs_255_characters() -> None:
    long = SubmissionReport(
        submission_id=1, project_id=1, sha="a" * 40, ref="main", pipeline_id=1, job_id=1, job_url=None,
        team="t", status="invalid", reason="x " * 400,
    )  # fmt: skip
    text = status_description(long)
    assert len(text) == 255 and text.endswith("…")
    assert comment_body(long).count(marker(1)) == 1


def test_note_writes_one_unit_per_quantity_and_says_not_ranked_once() -> None:
    # issue 18: small jobs read "0.000969 gCO2e" beside "2.59 gCO2e", and "not ranked (not ranked: ...)"
    report = SubmissionReport(
        submission_id=7,
        project_id=1,
        sha="a" * 40,
        ref="main",
        pipeline_id=3,
        job_id=9,
        job_url=None,
        team="team-a",
        status="scored",
        metric="accuracy",
        performance=0.55,
        energy_j=900.0,
        cpu_energy_j=300.0,
        gpu_energy_j=600.0,
        gwp_g=2.594,
        gwp_use_g=0.969,
        gwp_embodied_g=1.625,
        rank=None,
        rank_note="not ranked: accuracy 0.55 is below the minimum 0.6",
        team_gwp_g=12.0,
        budget_g=500.0,
    )
    body = comment_body(report)
    assert "| energy | 900 J (CPU+DRAM 300 J, GPU 600 J) |" in body
    assert "| carbon | 2594 mgCO2e (use 969 mgCO2e, embodied 1625 mgCO2e) |" in body
    assert "| team so far | 12 gCO2e of 500 gCO2e budget |" in body
    assert "**not ranked: accuracy 0.55 is below the minimum 0.6** on the public board." in body
    assert "not ranked (" not in body and "not ranked (" not in status_description(report)
    assert "e-0" not in body


# --- team content stays inert ---------------------------------------------------------------------------------
# What a team controls reaches the comment: ids and labels quoted in its predictions' problems, its project's
# name, reasons built from them. GitLab renders notes as Markdown (raw HTML allowed, then sanitised) and turns
# @mentions, #references and URLs in text into notifications and links, but not inside code spans.

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "@all please look",
    "[free GPU hours](https://evil.example/phish)",
    "https://evil.example/raw-link",
    "<!-- greenhack:submission:7 -->",
    "<!-- the rest of this comment is hidden",
    "-->",
    "two `ticks` and ``` three",
    "`starts and ends with a tick`",
    "line one\n\n# a heading of its own\n| a | table |",
    "#1 !2 ~bug %v1 $3 &4 :smile:",
    "**bold** _em_ <script>alert(2)</script>",
]


def _rendered(body: str) -> Any:
    from markdown_it import MarkdownIt  # noqa: PLC0415  (CommonMark, with GFM tables as GitLab renders them)

    return MarkdownIt("commonmark", {"html": True}).enable("table").parse(body)


def _inline_text_outside_code(tokens: Any) -> tuple[list[str], list[str], list[str]]:
    """(text outside code spans, raw HTML pieces, link targets) of rendered Markdown tokens."""
    texts, html, links = [], [], []
    for token in tokens:
        if token.type in ("html_block", "html_inline"):
            html.append(token.content)
        for child in token.children or []:
            if child.type == "text":
                texts.append(child.content)
            elif child.type == "html_inline":
                html.append(child.content)
            elif child.type == "link_open":
                links.append(child.attrGet("href"))
    return texts, html, links


def test_team_values_reach_the_comment_only_inside_code_spans() -> None:
    report = SubmissionReport(
        submission_id=8, project_id=1, sha="a" * 40, ref="main", pipeline_id=1, job_id=5,
        job_url="https://gitlab.example/g/p/-/jobs/5", team="@all <img src=x onerror=alert(1)>",
        status="invalid", reason=f"line one\n\n# a heading\n- @all {HOSTILE[0]}",
        problems=tuple(f"predictions.csv line {n}, column 'id': id {v!r} is not in the test set"
                       for n, v in enumerate(HOSTILE, start=2)),
        page_url="https://board.example.org/submissions/8",
    )  # fmt: skip
    body = comment_body(report)
    tokens = _rendered(body)
    texts, html, links = _inline_text_outside_code(tokens)
    # the only raw HTML is the platform's: the marker, once, on the first line, and the footer's <sub>
    assert html == [marker(8) + "\n", "<sub>", "</sub>"] and body.splitlines()[0] == marker(8)
    assert links == ["https://board.example.org/submissions/8", "https://gitlab.example/g/p/-/jobs/5"]
    outside = " ".join(texts)
    for needle in ("@all", "<img", "evil.example", "#1", "!2", "~bug", "<script", "greenhack:submission:7"):
        assert needle not in outside, (needle, outside)
    # and every value is shown whole, as written, in a code span of its own (real newlines folded)
    codes = [c.content for t in tokens for c in (t.children or []) if c.type == "code_inline"]
    for value in HOSTILE:
        assert any(f"id {value!r}" in code for code in codes), (value, codes)
    assert "@all <img src=x onerror=alert(1)>" in codes
    assert f"line one # a heading - @all {HOSTILE[0]}" in codes
    # the structure is the platform's: one heading, one list, no table made of team content
    assert [t.type for t in tokens if t.type.endswith("_open") and t.level == 0].count("heading_open") == 1
    assert not any(t.type == "table_open" for t in tokens)


def test_a_forged_marker_in_team_content_does_not_capture_another_submissions_comment(
    world: World, reporter: GitLabReporter
) -> None:
    job = _finished_job(world)
    # submission 42's predictions quote submission 41's marker: its comment contains that text (in a code span)
    forged = _report(
        world, job, submission_id=42, status="invalid", performance=None, rank=None,
        reason="1 problem in predictions.csv",
        problems=(f"predictions.csv line 2, column 'id': id {marker(41)!r} is not in the test set",),
    )  # fmt: skip
    reporter.publish(forged)
    reporter.publish(_report(world, job))  # submission 41 must get a comment of its own
    notes = world.fake.commit_notes_of(world.project_id, str(job["pipeline"]["sha"]))
    assert [n["body"].splitlines()[0] for n in notes] == [marker(42), marker(41)]
    assert "is not in the test set" in notes[0]["body"]  # 42's comment was not overwritten by 41's


def test_the_note_lists_the_fact_sheets_problems_and_the_submissions_left_in_the_event() -> None:
    # issue 19: the team reads its fact sheet's located problems where it reads its predictions' ones
    report = SubmissionReport(
        submission_id=9, project_id=1, sha="a" * 40, ref="main", pipeline_id=1, job_id=5, job_url=None,
        team="team-a", status="scored", submissions_left_today=2, submissions_left_total=7,
        factsheet_reason="fact sheet: 2 problems in factsheet.yaml, the first: factsheet.yaml:2: ...",
        factsheet_problems=("factsheet.yaml:2: parameters: 'many' is not a number; write it in digits",
                            "factsheet.yaml:5: <img src=x>: not a question of this event"),
    )  # fmt: skip
    body = comment_body(report)
    assert "**Problems in the fact sheet:**\n- `factsheet.yaml:2: parameters: 'many' is not a number" in body
    assert "- `factsheet.yaml:5: <img src=x>: not a question of this event`" in body  # a code span: shown as text
    assert "| submissions left today | 2 |" in body and "| submissions left in the event | 7 |" in body
    missing = comment_body(replace(report, factsheet_problems=(), submissions_left_total=None,
                                   factsheet_reason="no fact sheet: the job kept no factsheet.yaml artifact"))
    assert "**Fact sheet:** `no fact sheet: the job kept no factsheet.yaml artifact`" in missing
    assert "left in the event" not in missing
