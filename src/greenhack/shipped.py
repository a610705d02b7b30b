"""Files greenhack ships beside its code: the demo event, and in it the factors BoaviztAPI gave its server.

Below the demo and ``greenhack measure`` alike (measure falls back to the shipped factors as the demo does),
so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from greenhack.errors import ServiceError

__all__ = ["FACTORS_SNAPSHOT", "demo_event_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent  # .../greenhack

# The factors BoaviztAPI 2.5.0 gives the demo server at the demo's location, in the platform's cache format,
# a file of the demo event's folder.
FACTORS_SNAPSHOT = "boavizta-factors.json"


def demo_event_dir() -> Path:
    """The folder holding the demo's ``event.yaml``, ``secrets/truth.csv`` and ``teams/``.

    Inside a wheel it is ``greenhack/demo/_example``; in a source checkout or an editable install, the
    repository's ``examples/demo``.

    Raises:
        ServiceError: neither exists (a broken install).
    """
    candidates = (_PACKAGE_DIR / "demo" / "_example", _PACKAGE_DIR.parents[1] / "examples" / "demo")
    for candidate in candidates:
        if (candidate / "event.yaml").is_file() and (candidate / "teams").is_dir():
            return candidate
    raise ServiceError("the demo event is missing (looked in " + ", ".join(str(c) for c in candidates) + ")")
