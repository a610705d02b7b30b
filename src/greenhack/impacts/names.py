"""CPU and GPU names as BoaviztAPI reads them: its own fuzzy matcher, online or offline, and one verdict.

BoaviztAPI completes a component from its name with a fuzzy matcher (2.5.0 ``utils/fuzzymatch.py``: the
lower-cased name against every lower-cased name of ``data/crowdsourcing/cpu_specs.csv`` or ``gpu_specs.csv``
with rapidfuzz's ``token_set_ratio``, the first best row when its score exceeds 80, else nothing), and an
unknown or mismatched name silently falls back to generic values. :func:`resolve_name` gives one verdict for
both uses: the impacts step asks the running server (``/v1/utils/name_to_cpu``), ``check-config`` asks
:func:`offline_matcher`, the same algorithm on the name lists of BoaviztAPI 2.5.0 shipped in this package
(``data/boavizta-2.5.0-names.json``, extracted from those two files and checked against a live server by the
tests). The matcher is fuzzy ("Intel Xeon Gold 9999" becomes "Intel Xeon Gold 5115"), so a match is accepted
only when every token of the YAML name that holds a digit (a model number) is in the match.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Literal

from rapidfuzz import fuzz

from greenhack.errors import HardwareNameError

__all__ = [
    "SHIPPED_NAMES_VERSION",
    "HardwareKind",
    "offline_matcher",
    "resolve_name",
    "same_model",
    "shipped_names",
]

HardwareKind = Literal["CPU", "GPU"]
SHIPPED_NAMES_VERSION = "2.5.0"
_NAMES_FILE = f"boavizta-{SHIPPED_NAMES_VERSION}-names.json"
_TOKEN = re.compile(r"[a-z0-9]+")


@cache
def _shipped() -> dict[str, object]:
    data: dict[str, object] = json.loads(
        files("greenhack.impacts").joinpath("data", _NAMES_FILE).read_text(encoding="utf-8")
    )
    return data


def shipped_names(kind: HardwareKind | str) -> list[str]:
    """Every CPU or GPU name BoaviztAPI 2.5.0 knows, as ``/v1/utils/cpu_name`` / ``gpu_name`` list them."""
    names = _shipped()[f"{kind.lower()}_names"]
    assert isinstance(names, list)
    return [str(n) for n in names]


def offline_matcher(kind: HardwareKind | str) -> Callable[[str], str | None]:
    """BoaviztAPI 2.5.0's fuzzy matcher for ``kind`` on the shipped names (what ``name_to_cpu`` would answer)."""
    names = shipped_names(kind)
    lowered = [n.lower() for n in names]
    threshold = _shipped()[f"{kind.lower()}_name_fuzzymatch_threshold"]
    assert isinstance(threshold, int | float)

    def match(name: str) -> str | None:
        wanted = name.lower()
        best, best_score = None, -1.0
        for original, candidate in zip(names, lowered, strict=True):
            score = fuzz.token_set_ratio(candidate, wanted)
            if score > best_score:  # the first row with the highest score, as pandas' idxmax
                best, best_score = original, score
        return best if best_score > threshold else None

    return match


def _model_numbers(name: str) -> set[str]:
    return {token for token in _TOKEN.findall(name.lower()) if any(ch.isdigit() for ch in token)}


def same_model(given: str, matched: str) -> bool:
    """Whether every model-number token of ``given`` (one holding a digit) is a token of ``matched``."""
    return _model_numbers(given) <= set(_TOKEN.findall(matched.lower()))


def resolve_name(
    given: str,
    matcher: Callable[[str], str | None],
    known: Callable[[], list[str]],
    *,
    kind: str,
    key: str,
    version: str,
) -> str:
    """The name BoaviztAPI will use for ``given``, or HardwareNameError naming the YAML key.

    Args:
        given: the name in the event YAML.
        matcher: BoaviztAPI's matcher (the server's, or :func:`offline_matcher`).
        known: every name it knows, for suggestions.
        kind: ``CPU`` or ``GPU``, for the message.
        key: the YAML key of the name (``servers[0].hardware.cpu.name``).
        version: the BoaviztAPI version the names come from, for the message.
    """
    matched = matcher(given)
    if matched is not None and same_model(given, matched):
        return matched
    suggestions = difflib.get_close_matches(given, known(), n=4, cutoff=0.4)
    hint = f"; close names it knows: {', '.join(repr(s) for s in suggestions)}" if suggestions else ""
    if matched is None:
        reason = f"BoaviztAPI {version} does not know the {kind} {given!r}"
    else:
        reason = (
            f"BoaviztAPI {version} does not know the {kind} {given!r}: its nearest entry {matched!r} is another "
            "model (BoaviztAPI would silently use it)"
        )
    raise HardwareNameError(f"{reason}{hint}", key=key)
