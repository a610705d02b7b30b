"""The live progress line of ``greenhack measure``, written to stderr while the command runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from greenhack.measure.report import Progress, format_progress

__all__ = ["ProgressLine"]


class ProgressLine:
    """Rewrites one line in place on a terminal; on a pipe or a CI log, prints a line every ``every_s`` seconds.

    Args:
        stream: where to write (stderr, so the command's own stdout stays clean).
        live: rewrite the line in place (a terminal); None decides from ``stream.isatty()``.
        every_s: seconds between two printed lines when not live.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool | None = None,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._live = stream.isatty() if live is None else live
        self._every_s = every_s
        self._clock = clock
        self._last_print = clock()
        self._width = 0

    def __call__(self, progress: Progress) -> None:
        text = "greenhack measure: " + format_progress(progress)
        if self._live:
            pad = " " * max(0, self._width - len(text))
            self._stream.write("\r" + text + pad)
            self._width = len(text)
            self._stream.flush()
        elif self._clock() - self._last_print >= self._every_s:
            self._stream.write(text + "\n")
            self._stream.flush()
            self._last_print = self._clock()

    def finish(self) -> None:
        """Clear the live line so what follows starts on a clean line."""
        if self._live and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
