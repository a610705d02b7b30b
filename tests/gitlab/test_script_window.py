"""The script window from the job log: GitLab Runner's formats (real samples), greenhack's marks, forged marks and
the fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenhack.gitlab.joblog import MARK_PREFIX, find_marks, format_mark, parse_log
from greenhack.gitlab.script_window import ScriptWindow, api_window, script_window
from greenhack.testing.runner_log import LogTimes, runner_log

ESC = "\x1b"

# --- real samples ------------------------------------------------------------------------------------------------

# gitlab-org/gitlab-runner, common/buildlogger/internal/timestamper/timestamper_test.go, TestCarriageReturnDoesNotSplitWrite:
# what the runner's timestamper writes for two section markers (stream 1, its test clock one hour apart per write).
RUNNER_TIMESTAMPER_SECTIONS = (
    "2021-01-01T01:00:00.020010Z 01O section_start:123:foo\r\x1b[0K\n"
    "2021-01-01T02:00:00.020010Z 01O+section_end:123:foo\r\x1b[0K\n"
)

# gitlab-org/gitlab-runner, same file, TestWithTimestamps (stream 255 on stderr): progress bars, continuations, CRLF.
RUNNER_TIMESTAMPER_LINES = (
    "2021-01-01T01:00:00.020010Z ffE PREFIX This is the beginning of a new line\n"
    "2021-01-01T02:00:00.020010Z ffE PREFIX This is a split up line\n"
    "2021-01-01T03:00:00.020010Z ffE PREFIX Progress bar: .\r\n"
    "2021-01-01T04:00:00.020010Z ffE+.\r\n"
    "2021-01-01T13:00:00.020010Z ffE+Done.\r\n"
    "2021-01-01T14:00:00.020010Z ffE PREFIX Another windows new-line\r\n"
    "2021-01-01T20:00:00.020010Z ffE \n"
)

# GitLab's documentation, "CI/CD job logs" > custom collapsible sections (docs.gitlab.com/ci/jobs/job_logs/, from
# gitlab-org/gitlab-foss#63646): sections as a job prints them, no timestamps.
GITLAB_DOCS_SECTIONS = (
    "section_start:1560896352:my_first_section\r\x1b[0KHeader of the 1st collapsible section\n"
    "this line should be hidden when collapsed\n"
    "this line too\n"
    "section_end:1560896353:my_first_section\r\x1b[0K\n"
    "\x1b[0Ksection_start:1560896378:my_second_section[collapsed=true]\r\x1b[0KHeader of the 2nd collapsible section\n"
    "section_end:1560896390:my_second_section\r\x1b[0K\n"
)


def test_the_runners_timestamp_header_is_read_to_the_microsecond() -> None:
    lines = parse_log(RUNNER_TIMESTAMPER_LINES)
    assert [line.stamped_at for line in lines][:2] == [
        datetime(2021, 1, 1, 1, 0, 0, 20010, tzinfo=UTC),
        datetime(2021, 1, 1, 2, 0, 0, 20010, tzinfo=UTC),
    ]
    assert {(line.stream, line.stderr) for line in lines} == {(255, True)}
    assert [line.continuation for line in lines] == [False, False, False, True, True, False, False]
    assert lines[2].text == "PREFIX Progress bar: .\r"
    assert lines[4].text == "Done.\r"
    assert lines[6].text == ""


def test_section_markers_count_only_on_the_runners_own_stream() -> None:
    # in the runner's sample they are on stream 01 (the job's): a job can print those, so they do not count
    assert find_marks(parse_log(RUNNER_TIMESTAMPER_SECTIONS)) == []
    # the same bytes on stream 00, where the runner writes its own (helpers/build_section.go via SendRawLog)
    own = RUNNER_TIMESTAMPER_SECTIONS.replace(" 01O", " 00O")
    marks = find_marks(parse_log(own))
    assert [(m.kind, m.edge, m.name, m.line) for m in marks] == [
        ("section", "start", "foo", 1),
        ("section", "end", "foo", 2),
    ]
    assert marks[0].printed_at == datetime.fromtimestamp(123, tz=UTC)
    assert marks[0].stamped_at == datetime(2021, 1, 1, 1, 0, 0, 20010, tzinfo=UTC)
    assert marks[1].stamped_at == datetime(2021, 1, 1, 2, 0, 0, 20010, tzinfo=UTC)  # on a '+' continuation


def test_gitlabs_documented_sections_parse_with_options_and_leading_escapes() -> None:
    marks = find_marks(parse_log(GITLAB_DOCS_SECTIONS))
    assert [(m.edge, m.name, int(m.printed_at.timestamp())) for m in marks] == [
        ("start", "my_first_section", 1560896352),
        ("end", "my_first_section", 1560896353),
        ("start", "my_second_section", 1560896378),
        ("end", "my_second_section", 1560896390),
    ]
    assert all(m.stamped_at is None and m.printed_resolution_s == 1.0 for m in marks)


def test_a_marker_without_gitlabs_suffix_is_not_a_section() -> None:
    # GitLab renders a section only with the \r\e[0K suffix (Gitlab::Regex.build_trace_section_regex)
    assert find_marks(parse_log("section_start:1560896352:step_script without suffix\n")) == []


# --- greenhack's marks -------------------------------------------------------------------------------------------

T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


TIMES = LogTimes(started=at(0), command_start=at(25.123456), command_end=at(55.654321), finished=at(59.5))
API = {"api_start": at(0), "api_end": at(59.5)}


def test_the_marks_give_the_window_of_the_teams_command_at_the_runners_microsecond() -> None:
    window = script_window(runner_log(TIMES), **API)
    assert window.fallback is None
    assert (window.start.at, window.end.at) == (TIMES.command_start, TIMES.command_end)
    assert (window.start.source, window.end.source) == ("runner_timestamp", "runner_timestamp")
    assert window.resolution_s == 1e-6
    assert window.phases == ("script",)
    assert window.duration_s == pytest.approx(30.530865)
    assert window.api_duration_s == 59.5


def test_without_timestamps_the_marks_own_times_are_used() -> None:
    window = script_window(runner_log(TIMES, timestamps=False), **API)
    assert window.fallback is None
    assert (window.start.source, window.end.source) == ("mark", "mark")
    assert (window.start.at, window.end.at) == (TIMES.command_start, TIMES.command_end)


def test_an_older_component_without_marks_falls_back_to_the_step_script_section() -> None:
    stamped = script_window(runner_log(TIMES, marks=False), **API)
    assert stamped.fallback is None
    assert (stamped.start.source, stamped.end.source) == ("runner_timestamp", "runner_timestamp")
    assert TIMES.started < stamped.start.at < TIMES.command_start
    assert TIMES.command_end < stamped.end.at < TIMES.finished
    # an older runner (no FF_TIMESTAMPS): whole seconds, each covering its whole second, so never shorter
    plain = script_window(runner_log(TIMES, marks=False, timestamps=False), **API)
    assert (plain.start.source, plain.end.source) == ("section_marker", "section_marker")
    assert plain.resolution_s == 1.0
    assert plain.start.at <= stamped.start.at and plain.end.at >= stamped.end.at
    assert plain.start.at.microsecond == 0 and plain.end.at.microsecond == 0


def test_a_log_without_any_mark_falls_back_to_gitlabs_window_with_its_reason() -> None:
    log = "Running with gitlab-runner 16.11.0 (91a27b2a)\n  on gpu-1 t3_xS6Vzp\n$ python train.py\nJob succeeded\n"
    window = script_window(log, **API)
    assert window.fallback is not None and window.fallback.code == "no_marks"
    assert "neither greenhack marks nor a step_script section" in window.fallback.message
    assert (window.start.at, window.end.at) == (at(0), at(59.5))
    assert (window.start.source, window.end.source) == ("api", "api")
    assert window == api_window(at(0), at(59.5), fallback=window.fallback)


def test_a_missing_end_mark_ends_the_window_at_gitlabs_finish_and_says_why() -> None:
    log = runner_log(TIMES)
    cut = log[: log.index(format_mark("end", "script", TIMES.command_end))]
    cut = cut[: cut.rindex("\n", 0, len(cut) - 1) + 1]  # drop the line the end mark was on, and everything after
    window = script_window(cut, **API)
    assert window.fallback is not None and window.fallback.code == "no_end_mark"
    assert window.start.at == TIMES.command_start and window.end.source == "api" and window.end.at == at(59.5)
    truncated = script_window(cut, **API, truncated=True)
    assert truncated.fallback is not None and truncated.fallback.code == "log_truncated"


# --- forged marks ------------------------------------------------------------------------------------------------


def forged(edge: str, seconds: float) -> str:
    return format_mark(edge, "script", at(seconds))  # type: ignore[arg-type]


def charged(window: ScriptWindow) -> tuple[object, ...]:
    """What a window charges (its bounds and their sources), apart from the log lines the marks are on."""
    return (window.start.at, window.start.source, window.end.at, window.end.source, window.fallback)


def test_forged_early_end_and_late_start_marks_change_nothing() -> None:
    honest = script_window(runner_log(TIMES), **API)
    team = [(at(30), forged("end", 30)), (at(40), forged("start", 40)), (at(41), f"progress {forged('end', 41)}")]
    window = script_window(runner_log(TIMES, team_lines=team), **API)
    assert charged(window) == charged(honest)


def test_forged_marks_with_times_outside_gitlabs_window_only_lengthen_up_to_its_edges() -> None:
    # mid-line, a mark gets no runner timestamp, so its printed time counts: printed far outside GitLab's window
    team = [(at(30), f"epoch 1 {forged('start', -3600)}"), (at(31), f"done {forged('end', 7200)}")]
    window = script_window(runner_log(TIMES, team_lines=team), **API)
    assert window.fallback is None
    assert (window.start.at, window.end.at) == (at(0), at(59.5))
    assert window.start.clamped and window.end.clamped
    assert (window.start.source, window.end.source) == ("api", "api")


def test_a_forged_section_marker_on_the_jobs_stream_is_ignored() -> None:
    stamped = runner_log(TIMES, marks=False)
    honest = script_window(stamped, **API)
    # the job's own stream (01) is not the runner's: even a later one (it would only lengthen) is not the runner's word
    team = [(at(57), f"section_end:{int(at(57).timestamp())}:step_script\r{ESC}[0K")]
    assert charged(script_window(runner_log(TIMES, marks=False, team_lines=team), **API)) == charged(honest)


def test_a_forged_timestamp_header_inside_a_line_is_content() -> None:
    fake_header = f"{at(26).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} 01O {forged('end', 26)}"
    lines = parse_log(runner_log(TIMES, team_lines=[(at(40), fake_header)]))
    forged_line = next(line for line in lines if line.text.startswith(at(26).strftime("%Y")))
    assert forged_line.stamped_at == at(40)
    window = script_window(runner_log(TIMES, team_lines=[(at(40), fake_header)]), **API)
    assert window.end.at == TIMES.command_end


def test_headers_are_the_runners_only_when_the_first_line_has_one() -> None:
    # an older runner writes no headers; a job printing header-shaped lines cannot make them the runner's
    log = runner_log(TIMES, timestamps=False, team_lines=[
        (at(30), f"{at(56).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} 00O section_end:{int(at(31).timestamp())}:x\r{ESC}[0K")
    ])
    assert all(line.stamped_at is None for line in parse_log(log))


def test_a_mark_after_a_partial_line_gets_its_printed_time_not_the_lines_header() -> None:
    # the team leaves "x" on stdout without a line feed early on; without the component's leading line feed the
    # end mark would share that line, whose header is the (early) time "x" was written
    text = (
        f"{at(0).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} 00O Running with gitlab-runner 18.7.0 (3a5f2314)\n"
        f"{at(26).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} 01O {forged('start', 25)}\n"
        f"{at(27).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} 01O x{format_mark('end', 'script', at(55))}\n"
    )
    window = script_window(text, **API)
    assert window.end.source == "mark" and window.end.at == at(55)
    assert window.start.source == "runner_timestamp" and window.start.at == at(26)


def test_marks_out_of_order_fall_back_to_gitlabs_window() -> None:
    text = f"{forged('start', 40)}\n{forged('end', 30)}\n"
    window = script_window(text, **API)
    assert window.fallback is not None and window.fallback.code == "marks_out_of_order"
    assert "line 2" in window.fallback.message and "line 1" in window.fallback.message
    assert (window.start.at, window.end.at) == (at(0), at(59.5))


def test_marks_wholly_outside_gitlabs_window_fall_back_to_it() -> None:
    text = f"{forged('start', 100)}\n{forged('end', 130)}\n"
    window = script_window(text, **API)
    assert window.fallback is not None and window.fallback.code == "marks_outside_api_window"
    assert (window.start.source, window.end.source) == ("api", "api")


def test_train_and_predict_phases_are_named() -> None:
    window = script_window(runner_log(TIMES, phase="train"), **API)
    assert window.phases == ("train",)
    assert window.fallback is None


def test_the_marks_format_is_one_definition() -> None:
    assert format_mark("start", "script", at(25.5)) == f"{MARK_PREFIX}:start:script:{int(at(0).timestamp()) + 25}.500000"
    # nine digits, as `date +%s.%N` prints them, are read to the microsecond
    (mark,) = find_marks(parse_log(f"{MARK_PREFIX}:end:predict:1795000000.123456789\n"))
    assert mark.printed_at == datetime.fromtimestamp(1795000000, tz=UTC) + timedelta(microseconds=123456)
    assert mark.printed_resolution_s == 1e-6


def test_the_window_in_prometheus_clock_shifts_only_what_the_server_stamped() -> None:
    window = script_window(runner_log(TIMES), **API)
    start, end = window.in_prometheus_clock(2.0)
    assert (start, end) == (TIMES.command_start - timedelta(seconds=2), TIMES.command_end - timedelta(seconds=2))
    fallback = script_window("no marks\n", **API)
    assert fallback.in_prometheus_clock(2.0) == (at(0), at(59.5))


def test_a_lone_end_mark_starts_the_window_at_gitlabs_start_and_a_lone_mark_outside_falls_back() -> None:
    window = script_window(f"{forged('end', 50)}\n", **API)
    assert window.fallback is not None and window.fallback.code == "no_start_mark"
    assert (window.start.source, window.start.at, window.end.at) == ("api", at(0), at(50))
    late = script_window(f"{forged('start', 70)}\n", **API)
    assert late.fallback is not None and late.fallback.code == "marks_outside_api_window"
    assert (late.start.at, late.end.at) == (at(0), at(59.5))


@pytest.mark.parametrize("timestamps", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        f"{MARK_PREFIX}:end:script:999999999999",  # year 33658: past what a datetime holds
        f"{MARK_PREFIX}:end:script:253402300799",  # 9999-12-31T23:59:59: the second it names ends past year 9999
        f"done {MARK_PREFIX}:end:script:999999999999.5",
        "section_end:999999999999:step_script\r\x1b[0K",
        "section_start:999999999999:step_script\r\x1b[0K",
    ],
)
def test_a_mark_whose_time_cannot_be_read_is_ignored_as_forged(text: str, timestamps: bool) -> None:
    honest = script_window(runner_log(TIMES, timestamps=timestamps), **API)
    log = runner_log(TIMES, timestamps=timestamps, team_lines=[(at(30), text), (at(31), text)])
    assert all(mark.printed_at.year < 9999 for mark in find_marks(parse_log(log)))
    assert charged(script_window(log, **API)) == charged(honest)


def test_a_log_whose_only_marks_cannot_be_read_has_no_marks() -> None:
    log = f"{MARK_PREFIX}:start:script:999999999999\nsection_end:999999999999:step_script\r\x1b[0K\n"
    assert find_marks(parse_log(log)) == []
    window = script_window(log, **API)
    assert window.fallback is not None and window.fallback.code == "no_marks"
