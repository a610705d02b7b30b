"""Reading a number written in a CSV field, strictly.

Python's ``float()`` accepts ``1_000``, ``nan``, ``infinity`` and surrounding white space; a score must not. A
field is a number when it reads like ``12``, ``-0.5``, ``.5``, ``1e-3`` or ``+3.``; anything else gets a
message that says what is wrong with it (a decimal comma, NaN, an infinity, a missing value, ...).
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_number"]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_NAN = {"nan", "+nan", "-nan"}
_INF = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MISSING = {"na", "n/a", "null", "none", "nil", "-", "?"}


def parse_number(text: str) -> float | str:
    """The finite float written in ``text`` (already stripped), or a message saying why it is not one.

    The message completes a sentence about the value, e.g. ``'abc' is not a number``.
    """
    if _NUMBER.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
        return f"{text!r} is too large to be a finite number"
    lower = text.lower()
    if not text:
        return "is empty"
    if lower in _NAN:
        return f"{text!r} is NaN, not a finite number"
    if lower in _INF:
        return f"{text!r} is infinite, not a finite number"
    if _DECIMAL_COMMA.fullmatch(text):
        return f"{text!r} uses a decimal comma; write {text.replace(',', '.')}"
    if lower in _MISSING:
        return f"{text!r} is a missing value, not a number"
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"{shown!r} is not a number"
