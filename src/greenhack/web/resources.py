"""Where the board's templates and static files are: inside the wheel (``greenhack/_leaderboard``) or, in an
editable install or a source checkout, at the repository root (``leaderboard/``)."""

from __future__ import annotations

from pathlib import Path

from greenhack.errors import ServiceError

__all__ = ["leaderboard_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../greenhack


def leaderboard_dir() -> Path:
    """The folder holding ``templates/`` and ``static/``.

    Raises:
        ServiceError: neither the packaged copy nor the repository's folder exists (a broken install).
    """
    candidates = (_PACKAGE_DIR / "_leaderboard", _PACKAGE_DIR.parents[1] / "leaderboard")
    for candidate in candidates:
        if (candidate / "templates").is_dir() and (candidate / "static").is_dir():
            return candidate
    raise ServiceError(
        "the leaderboard's templates are missing (looked in " + ", ".join(str(c) for c in candidates) + ")"
    )
