"""Reading a CSV file's bytes safely: recognise what is not CSV text, locate every problem by line.

Shared by the predictions reader (a team's file) and the truth loader (the admins' file). Nothing here raises:
functions return a :class:`CsvIssue` describing the first problem that makes the file unreadable, so each
caller wraps it into its own error (``PredictionsError`` for teams, ``ConfigError`` for admins).

What is checked, in order:

1. binary files: known signatures (ZIP/xlsx, gzip, Parquet, ...), UTF-16/UTF-32 (with or without a byte-order
   mark), then any NUL byte;
2. the encoding: the file must be UTF-8 (a UTF-8 byte-order mark is accepted and skipped); the first invalid
   byte is reported with its line and column, with a guess at the encoding it was written in;
3. the header: the first non-blank line names the columns; a missing column is reported with the columns
   found, a case-only mismatch is pointed out, and a file whose header only splits on ``;``, tab or ``|`` is
   reported as using the wrong delimiter (greenhack reads comma-separated values);
4. the width of every line, before the csv module splits it: a line with far more delimiters than the header
   has columns (or more characters than that many fields can hold) is reported at its line without being split
   or even read whole. Splitting a 190 MB line of commas would make 190 million fields (2 GB of memory).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CsvHeader",
    "CsvIssue",
    "check_bytes",
    "read_header",
]

# Signatures of files teams upload by mistake instead of a CSV.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook or a .zip?)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls (OLE) file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"ARROW1", "an Arrow/Feather file"),
)
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_SAMPLE_BYTES = 65536
# text is checked and read in pieces of this size, so no step holds one long line whole
_CHUNK_BYTES = 1024 * 1024
_CHUNK_CHARS = 1024 * 1024
# A row may have more fields than the header (reported per row) and quoted values may hold delimiters, so the
# bound is generous; only a line far past it is refused unsplit. A header wider than this is not a header.
_WIDTH_FACTOR = 10
_WIDTH_SLACK = 10_000
_MAX_HEADER_FIELDS = 10_000
_OTHER_DELIMITERS = ((";", "semicolons ';'"), ("\t", "tabs"), ("|", "pipes '|'"))
_ADVICE = (
    "save it as CSV with UTF-8 encoding (in Excel: 'CSV UTF-8'; in pandas: df.to_csv(path, index=False))"
)


@dataclass(frozen=True)
class CsvIssue:
    """A problem in a CSV file: ``line`` is 1-based (None when it concerns the whole file)."""

    line: int | None
    message: str


@dataclass(frozen=True)
class CsvHeader:
    """The header line of a readable CSV file.

    Attributes:
        line: its 1-based line number.
        names: the column names, stripped of surrounding white space.
        positions: the 0-based position of each required column.
    """

    line: int
    names: tuple[str, ...]
    positions: dict[str, int]

    @property
    def width(self) -> int:
        return len(self.names)


def _utf16_guess(sample: bytes) -> str | None:
    """'little-endian' or 'big-endian' when the sample looks like BOM-less UTF-16 text, else None."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "little-endian"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "big-endian"
    return None


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _encoding_guess(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "an 8-bit encoding such as Latin-1"
    return "Latin-1 / Windows-1252"


def check_bytes(data: bytes) -> CsvIssue | None:
    """The first reason ``data`` is not UTF-8 CSV text (binary, UTF-16, another encoding, empty), or None."""
    if not data:
        return CsvIssue(None, "the file is empty (0 bytes)")
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
        (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
        (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
        (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
    ):
        if data.startswith(bom):
            return CsvIssue(
                None,
                f"the file is encoded as {name}, with a byte-order mark; greenhack reads UTF-8: {_ADVICE}",
            )
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return CsvIssue(None, f"this is not a CSV text file but {name}; {_ADVICE}")
    if data[:2] in _PICKLE_PROTOCOLS:
        return CsvIssue(None, f"this is not a CSV text file but a Python pickle; {_ADVICE}")
    endian = _utf16_guess(data[:_SAMPLE_BYTES])
    if endian is not None:
        return CsvIssue(None, f"the file is encoded as UTF-16 ({endian}); greenhack reads UTF-8: {_ADVICE}")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _line_and_column(data, nul)
        return CsvIssue(
            line,
            f"this is a binary file, not CSV text (a NUL byte at column {column}, byte {nul}); {_ADVICE}",
        )
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    if not body or body.isspace():  # not body.strip(): that would copy the whole file
        return CsvIssue(None, "the file is empty (only blank lines)")
    return _check_utf8(data)


def _check_utf8(data: bytes) -> CsvIssue | None:
    # Decode fixed-size pieces of a view (no copy); a multi-byte sequence cut at a piece's end is left for the
    # next piece, so an error's offset is exact and no piece's text outlives its check.
    view = memoryview(data)
    start = 0
    while start < len(data):
        end = min(start + _CHUNK_BYTES, len(data))
        try:
            _, consumed = codecs.utf_8_decode(view[start:end], "strict", end == len(data))
        except UnicodeDecodeError as exc:
            offset = start + exc.start
            line, column = _line_and_column(data, offset)
            return CsvIssue(
                line,
                f"byte 0x{data[offset]:02X} at column {column} is not UTF-8; the file looks like "
                f"{_encoding_guess(data)} text; {_ADVICE}",
            )
        start += consumed
    return None


class _LineTooWide(Exception):
    """Raised out of :func:`_bounded_lines` through ``csv.reader``; becomes a :class:`CsvIssue` at ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class _WidthBound:
    """How wide a line may be; the header's width tightens it once the header is read."""

    delimiters: int
    chars: int
    header_width: int | None = None

    def fit_header(self, width: int) -> None:
        self.header_width = width
        self.delimiters = _WIDTH_FACTOR * width + _WIDTH_SLACK
        # each field holds at most csv.field_size_limit() characters, written with its quotes doubled
        self.chars = width * (2 * csv.field_size_limit() + 3) + self.delimiters

    def check(self, line: int, delimiters: int, chars: int) -> None:
        if delimiters <= self.delimiters and chars <= self.chars:
            return
        what = f"{self.delimiters + 1:,} fields" if delimiters > self.delimiters else f"{self.chars:,} characters"
        if self.header_width is None:
            raise _LineTooWide(line, f"the header line has more than {what}; it cannot be a header")
        raise _LineTooWide(
            line,
            f"the line is far wider than the header ({self.header_width} columns): more than {what}; write one "
            "row per id with the header's columns",
        )


def _bounded_lines(text: io.TextIOBase, bound: _WidthBound, delimiter: str) -> Iterator[str]:
    """The lines of ``text`` for ``csv.reader``, each checked against ``bound`` piece by piece before it is whole."""
    number = 0
    while True:
        piece = text.readline(_CHUNK_CHARS)
        if not piece:
            return
        number += 1
        pieces, delimiters, chars = [piece], piece.count(delimiter), len(piece)
        while len(piece) == _CHUNK_CHARS and not piece.endswith(("\n", "\r")):
            bound.check(number, delimiters, chars)
            piece = text.readline(_CHUNK_CHARS)
            pieces.append(piece)
            delimiters, chars = delimiters + piece.count(delimiter), chars + len(piece)
        bound.check(number, delimiters, chars)
        yield pieces[0] if len(pieces) == 1 else "".join(pieces)


def read_header(
    data: bytes, *, required: Sequence[str], delimiter: str = ","
) -> tuple[CsvHeader, Iterator[tuple[int, list[str]] | CsvIssue]] | CsvIssue:
    """Read the header of bytes that passed :func:`check_bytes` and return it with an iterator over the rows.

    The iterator yields ``(line, fields)`` for each non-blank record (``line``: the record's last line), or
    one :class:`CsvIssue` and stops when the CSV syntax breaks (an unclosed quote, a stray quote inside a
    field).
    """
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    bound = _WidthBound(delimiters=_MAX_HEADER_FIELDS - 1, chars=_CHUNK_CHARS)
    reader = csv.reader(_bounded_lines(text, bound, delimiter), delimiter=delimiter, strict=True)
    try:
        header = next((row for row in reader if row and any(field.strip() for field in row)), None)
    except csv.Error as exc:
        return CsvIssue(reader.line_num, f"the header line is not valid CSV ({exc})")
    except _LineTooWide as exc:
        return CsvIssue(exc.line, exc.message)
    if header is None:
        return CsvIssue(None, "the file is empty (only blank lines)")
    line = reader.line_num
    names = tuple(name.strip() for name in header)
    issue = _header_issue(names, required, delimiter, line)
    if issue is not None:
        return issue
    positions = {name: names.index(name) for name in required}
    bound.fit_header(len(names))
    return CsvHeader(line, names, positions), _rows(reader)


def _header_issue(
    names: tuple[str, ...], required: Sequence[str], delimiter: str, line: int
) -> CsvIssue | None:
    missing = [name for name in required if name not in names]
    twice = [name for name in required if names.count(name) > 1]
    if twice:
        return CsvIssue(line, f"column {twice[0]!r} appears {names.count(twice[0])} times in the header")
    if not missing:
        return None
    joined = delimiter.join(names)
    for other, label in _OTHER_DELIMITERS:
        if other in joined:
            split = [part.strip() for part in joined.split(other)]
            if all(name in split for name in required):
                return CsvIssue(
                    line,
                    f"columns are separated by {label}, but greenhack reads comma-separated values; "
                    f"write the header as {delimiter.join(required)}",
                )
    expected = delimiter.join(required)
    hints = []
    lower = {name.lower(): name for name in names}
    for name in missing:
        if name.lower() in lower:
            hints.append(f"{lower[name.lower()]!r} must be written {name!r} (names are case-sensitive)")
    found = ", ".join(repr(name) for name in names[:10]) + (", ..." if len(names) > 10 else "")
    columns = ", ".join(repr(name) for name in missing)
    plural = "s" if len(missing) > 1 else ""
    message = f"the header has no column{plural} {columns} (found {found}); the first line must be {expected}"
    if hints:
        message += "; " + "; ".join(hints)
    return CsvIssue(line, message)


def _rows(reader: Any) -> Iterator[tuple[int, list[str]] | CsvIssue]:
    """Non-blank records of a ``csv.reader`` with their line numbers; one issue, then stop, on bad syntax."""
    while True:
        start = reader.line_num + 1
        try:
            row: list[str] = next(reader)
        except StopIteration:
            return
        except _LineTooWide as exc:
            yield CsvIssue(exc.line, exc.message)
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                yield CsvIssue(start, 'not valid CSV: a quote (") opened in this record is never closed')
            else:
                yield CsvIssue(reader.line_num, f"not valid CSV ({exc}); quote a value that contains quotes")
            return
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield reader.line_num, row
