"""Reading a team's predictions: every bad-file case gives messages with their place, never a crash."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from greenhack.config import TaskSection
from greenhack.errors import PredictionsError
from greenhack.scoring import Truth, parse_truth, read_predictions

CLASS_TRUTH = b"id,label\n1,cat\n2,dog\n3,bird\n4,cat\n5,dog\n"
NUMBER_TRUTH = b"id,label\n1,1.5\n2,2.0\n3,-3\n4,4e2\n5,0\n"
GOOD_LABELS = "id,label\n1,cat\n2,dog\n3,bird\n4,cat\n5,dog\n"
GOOD_NUMBERS = "id,label\n1,1.5\n2,2\n3,-3\n4,400\n5,0\n"


def labels_truth() -> Truth:
    return parse_truth(
        CLASS_TRUTH, source="truth.csv", id_column="id", target_column="label", metric="accuracy"
    )


def numbers_truth() -> Truth:
    return parse_truth(NUMBER_TRUTH, source="truth.csv", id_column="id", target_column="label", metric="rmse")


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


# (case, file content, metric, every message expected: each is a substring of one problem, in order)
BAD_FILES: list[tuple[str, bytes, str, list[str]]] = [
    (
        "missing ids",
        b"id,label\n1,cat\n2,dog\n",
        "accuracy",
        ["predictions.csv: 3 ids of the test set have no prediction: '3', '4', '5'"],
    ),
    (
        "extra id",
        (GOOD_LABELS + "99,cat\n").encode(),
        "accuracy",
        ["predictions.csv line 7, column 'id': id '99' is not in the test set"],
    ),
    (
        "duplicate id",
        (GOOD_LABELS + "2,cat\n").encode(),
        "accuracy",
        ["predictions.csv line 7: id '2' appears twice (first on line 3)"],
    ),
    (
        "missing column",
        b"id,prediction\n1,cat\n",
        "accuracy",
        [
            "predictions.csv line 1: the header has no column 'label' (found 'id', 'prediction'); "
            "the first line must be id,label"
        ],
    ),
    (
        "column names with the wrong case",
        b"Id,label\n1,cat\n",
        "accuracy",
        ["'Id' must be written 'id' (names are case-sensitive)"],
    ),
    ("empty file", b"", "accuracy", ["predictions.csv: the file is empty (0 bytes)"]),
    (
        "blank lines only",
        b"\n\r\n   \n",
        "accuracy",
        ["predictions.csv: the file is empty (only blank lines)"],
    ),
    (
        "header only",
        b"id,label\n",
        "accuracy",
        ["predictions.csv: the file has a header (line 1) but no data rows; expected 5 rows, one per id"],
    ),
    (
        "non-numeric value for a regression metric",
        GOOD_NUMBERS.replace("2,2\n", "2,abc\n").encode(),
        "rmse",
        ["predictions.csv line 3, column 'label': the prediction 'abc' is not a number"],
    ),
    (
        "NaN",
        GOOD_NUMBERS.replace("2,2\n", "2,nan\n").encode(),
        "rmse",
        ["predictions.csv line 3, column 'label': the prediction 'nan' is NaN, not a finite number"],
    ),
    (
        "infinity",
        GOOD_NUMBERS.replace("2,2\n", "2,-inf\n").encode(),
        "mae",
        ["line 3, column 'label': the prediction '-inf' is infinite, not a finite number"],
    ),
    (
        "a number too large to be finite",
        GOOD_NUMBERS.replace("2,2\n", "2,1e999\n").encode(),
        "r2",
        ["line 3, column 'label': the prediction '1e999' is too large to be a finite number"],
    ),
    (
        "decimal comma",
        GOOD_NUMBERS.replace("1,1.5\n", '1,"1,5"\n').encode(),
        "rmse",
        ["line 2, column 'label': the prediction '1,5' uses a decimal comma; write 1.5"],
    ),
    (
        "empty prediction for a regression metric",
        GOOD_NUMBERS.replace("2,2\n", "2,\n").encode(),
        "rmse",
        ["line 3, column 'label': the prediction is empty"],
    ),
    (
        "missing value marker",
        GOOD_NUMBERS.replace("2,2\n", "2,NA\n").encode(),
        "rmse",
        ["line 3, column 'label': the prediction 'NA' is a missing value, not a number"],
    ),
    (
        "label never seen in the truth",
        GOOD_LABELS.replace("3,bird", "3,birb").encode(),
        "f1_macro",
        [
            "predictions.csv line 4, column 'label': label 'birb' never appears in the truth "
            "(labels: 'bird', 'cat', 'dog')"
        ],
    ),
    (
        "empty label",
        GOOD_LABELS.replace("3,bird", "3,").encode(),
        "accuracy",
        ["line 4, column 'label': the prediction is empty"],
    ),
    (
        "empty id",
        (GOOD_LABELS + ",cat\n").encode(),
        "accuracy",
        ["line 7, column 'id': the id is empty"],
    ),
    (
        "semicolon delimiter",
        GOOD_LABELS.replace(",", ";").encode(),
        "accuracy",
        [
            "predictions.csv line 1: columns are separated by semicolons ';', but greenhack reads "
            "comma-separated values; write the header as id,label"
        ],
    ),
    (
        "tab delimiter",
        GOOD_LABELS.replace(",", "\t").encode(),
        "accuracy",
        ["line 1: columns are separated by tabs"],
    ),
    (
        "wrong number of fields",
        GOOD_LABELS.replace("4,cat", "4,cat,0.9").encode(),
        "accuracy",
        ["line 5: 3 fields, but the header has 2 columns"],
    ),
    (
        "unclosed quote",
        b'id,label\n1,cat\n2,"dog\n3,bird\n',
        "accuracy",
        ['predictions.csv line 3: not valid CSV: a quote (") opened in this record is never closed'],
    ),
    (
        "stray quote inside a field",
        b'id,label\n1,"ca"t\n',
        "accuracy",
        [
            "predictions.csv line 2: not valid CSV (',' expected after '\"'); "
            "quote a value that contains quotes"
        ],
    ),
    (
        "Latin-1 encoding",
        "id,label\n1,cat\n2,chèvre\n".encode("latin-1"),
        "accuracy",
        [
            "predictions.csv line 3: byte 0xE8 at column 5 is not UTF-8; "
            "the file looks like Latin-1 / Windows-1252 text; save it as CSV with UTF-8 encoding"
        ],
    ),
    (
        "UTF-16 with a byte-order mark",
        GOOD_LABELS.encode("utf-16"),
        "accuracy",
        [
            "predictions.csv: the file is encoded as UTF-16 (little-endian), with a byte-order mark; "
            "greenhack reads UTF-8"
        ],
    ),
    (
        "UTF-16 big-endian without a byte-order mark",
        GOOD_LABELS.encode("utf-16-be"),
        "accuracy",
        ["the file is encoded as UTF-16 (big-endian); greenhack reads UTF-8"],
    ),
    (
        "UTF-32",
        codecs.BOM_UTF32_LE + GOOD_LABELS.encode("utf-32-le"),
        "accuracy",
        ["the file is encoded as UTF-32 (little-endian)"],
    ),
    (
        "binary with NUL bytes",
        b"id,label\n1,cat\n2,d\x00g\n",
        "accuracy",
        ["predictions.csv line 3: this is a binary file, not CSV text (a NUL byte at column 4, byte 18)"],
    ),
    (
        "an Excel workbook",
        xlsx_bytes(),
        "accuracy",
        ["not a CSV text file but a ZIP archive (an Excel .xlsx"],
    ),
    (
        "gzip",
        gzip.compress(GOOD_LABELS.encode()),
        "accuracy",
        ["not a CSV text file but a gzip-compressed file"],
    ),
    ("Parquet", b"PAR1\x15\x04\x15\x10", "accuracy", ["not a CSV text file but a Parquet file"]),
    ("pickle", b"\x80\x04\x95\x10\x00\x00", "accuracy", ["not a CSV text file but a Python pickle"]),
    (
        "several problems at once, in file order",
        b"id,label\n1,cat\n1,dog\n7,cat\n3,xyz\n",
        "accuracy",
        [
            "line 3: id '1' appears twice (first on line 2)",
            "line 4, column 'id': id '7' is not in the test set",
            "line 5, column 'label': label 'xyz' never appears",
            "3 ids of the test set have no prediction: '2', '4', '5'",
        ],
    ),
]


@pytest.mark.parametrize(
    ("content", "metric", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_file_lists_every_problem_with_its_place(
    content: bytes, metric: str, expected: list[str], make_task: Callable[..., TaskSection]
) -> None:
    truth = numbers_truth() if metric in ("rmse", "mae", "r2") else labels_truth()
    with pytest.raises(PredictionsError) as caught:
        read_predictions(content, truth=truth, task=make_task(), metric=metric)
    problems = caught.value.problems
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


def test_file_over_the_size_limit(make_task: Callable[..., TaskSection]) -> None:
    content = (GOOD_LABELS + "#" * (3000 - len(GOOD_LABELS))).encode()
    with pytest.raises(PredictionsError) as caught:
        read_predictions(
            content, truth=labels_truth(), task=make_task(max_predictions_mb=0.002), metric="accuracy"
        )
    assert caught.value.problems == ["predictions.csv: the file is 3.0 kB, over the 2.0 kB limit"]


def test_size_limit_is_checked_before_the_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_task: Callable[..., TaskSection]
) -> None:
    path = tmp_path / "predictions.csv"
    with path.open("wb") as handle:  # a sparse 201 MB file: over the default 200 MB limit
        handle.truncate(201_000_000)

    def no_reading(self: Path) -> bytes:
        raise AssertionError("the file was read despite its size")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(PredictionsError) as caught:
        read_predictions(path, truth=labels_truth(), task=make_task(), metric="accuracy")
    assert caught.value.problems == ["predictions.csv: the file is 201.0 MB, over the 200.0 MB limit"]


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path, make_task: Callable[..., TaskSection]) -> None:
    with pytest.raises(PredictionsError) as caught:
        read_predictions(tmp_path / "nope.csv", truth=labels_truth(), task=make_task(), metric="accuracy")
    assert caught.value.problems == ["nope.csv: file not found: the job did not produce it"]


def test_messages_are_capped_with_a_count_of_the_rest(make_task: Callable[..., TaskSection]) -> None:
    content = ("id,label\n" + "".join(f"x{i},cat\n" for i in range(120))).encode()
    with pytest.raises(PredictionsError) as caught:
        read_predictions(content, truth=labels_truth(), task=make_task(), metric="accuracy", max_problems=50)
    problems = caught.value.problems
    assert len(problems) == 51
    assert problems[0] == "predictions.csv line 2, column 'id': id 'x0' is not in the test set"
    # 120 unknown ids + the missing-ids summary = 121 problems, 50 shown
    assert problems[-1] == "... and 71 more problems"


@pytest.mark.parametrize(
    "content",
    [
        GOOD_LABELS.encode(),
        codecs.BOM_UTF8 + GOOD_LABELS.encode(),  # Excel's "CSV UTF-8" writes a byte-order mark
        GOOD_LABELS.replace("\n", "\r\n").encode(),  # Windows line ends
        b"\n" + GOOD_LABELS.encode() + b"\n\n",  # blank lines around
        # other columns, any order
        b"score,label,id\n0.9,dog,5\n0.1,cat,1\n0.5,bird,3\n0.7,cat,4\n0.2,dog,2\n",
        b' id , label \n"1", cat \n2,"dog"\n3 ,bird\n4,cat\n5,dog\n',  # quotes and white space
    ],
    ids=["plain", "utf-8 bom", "crlf", "blank lines", "extra columns, reordered", "quotes and spaces"],
)
def test_good_files_are_read_aligned_with_the_truth(
    content: bytes, make_task: Callable[..., TaskSection]
) -> None:
    predictions = read_predictions(content, truth=labels_truth(), task=make_task(), metric="accuracy")
    assert predictions.labels == ("cat", "dog", "bird", "cat", "dog")
    assert predictions.rows == 5


def test_regression_values_are_parsed_strictly(make_task: Callable[..., TaskSection]) -> None:
    content = b"id,label\n5,0\n4,+4E2\n3,-3.\n2,.5\n1,1.5e0\n"
    predictions = read_predictions(content, truth=numbers_truth(), task=make_task(), metric="rmse")
    assert predictions.values == (1.5, 0.5, -3.0, 400.0, 0.0)
    with pytest.raises(PredictionsError, match="'1_000' is not a number"):
        read_predictions(
            content.replace(b"5,0", b"5,1_000"), truth=numbers_truth(), task=make_task(), metric="rmse"
        )


def test_reading_from_a_path_names_the_file(tmp_path: Path, make_task: Callable[..., TaskSection]) -> None:
    path = tmp_path / "preds.csv"
    path.write_bytes(b"id,label\n1,cat\n")
    with pytest.raises(PredictionsError) as caught:
        read_predictions(path, truth=labels_truth(), task=make_task(), metric="accuracy")
    assert caught.value.problems[0].startswith("preds.csv: 4 ids of the test set have no prediction")


def test_other_column_names_from_the_task(make_task: Callable[..., TaskSection]) -> None:
    truth = parse_truth(
        b"row,y\na,1\nb,2\n", source="truth.csv", id_column="row", target_column="y", metric="mae"
    )
    task = make_task(id_column="row", target_column="y")
    assert read_predictions(b"row,y\nb,2.5\na,1\n", truth=truth, task=task, metric="mae").values == (1.0, 2.5)
    with pytest.raises(PredictionsError, match="the header has no column 'y'"):
        read_predictions(b"row,label\na,1\nb,2\n", truth=truth, task=task, metric="mae")


def _peak_bytes(read: Callable[[], object]) -> int:
    import tracemalloc  # noqa: PLC0415

    tracemalloc.start()
    try:
        read()
    except PredictionsError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


_WIDER = "predictions.csv line 7: the line is far wider than the header (2 columns)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD_LABELS.encode() + b"," * 20_000_000 + b"\n", _WIDER),
        (GOOD_LABELS.encode() + b"a" * 20_000_000 + b"\n", _WIDER),
        (GOOD_LABELS.encode() + b"1," + b'"x",' * 4_000_000 + b"\n", _WIDER),
        (b"id,label" + b"," * 20_000_000 + b"\n1,cat\n", "predictions.csv line 1: the header line has more than"),
    ],
    ids=["commas", "one endless value", "quoted values", "a header of commas"],
)
def test_a_line_far_wider_than_the_header_is_refused_before_it_is_split(
    content: bytes, expected: str, make_task: Callable[..., TaskSection]
) -> None:
    task = make_task(max_predictions_mb=50)
    with pytest.raises(PredictionsError) as caught:
        read_predictions(content, truth=labels_truth(), task=task, metric="accuracy")
    (problem,) = caught.value.problems
    assert problem.startswith(expected), problem
    # today's reader splits the 20 MB line of commas into 20 million fields: ~200 MB
    peak = _peak_bytes(lambda: read_predictions(content, truth=labels_truth(), task=task, metric="accuracy"))
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB for a {len(content) / 1e6:.0f} MB file"


def test_rows_with_quoted_commas_and_extra_columns_are_still_read(make_task: Callable[..., TaskSection]) -> None:
    note = '"' + ", ".join(["a note, with commas"] * 200) + '"'
    content = ("id,label,note\n" + "".join(f"{i},{label},{note}\n" for i, label in
                                           enumerate(["cat", "dog", "bird", "cat", "dog"], start=1))).encode()
    predictions = read_predictions(content, truth=labels_truth(), task=make_task(), metric="accuracy")
    assert predictions.labels == ("cat", "dog", "bird", "cat", "dog")
