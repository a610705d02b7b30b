"""The few phrases that the pages, the GitLab note and the terminal all say, written once.

- :func:`plural`: ``1 submission``, ``2 submissions``.
- :func:`rank_text`: ``rank 3/17``, or ``not ranked: <why>`` (the ranking's notes already start with
  ``not ranked:``; they are not said twice).
- :func:`shown_status`: what a submission's status reads as: an excluded submission reads ``excluded``
  whatever its evaluation's status (``scored``, ``needs review``) was.
"""

from __future__ import annotations

__all__ = ["NOT_RANKED", "plural", "rank_text", "shown_status", "why_not_ranked"]

NOT_RANKED = "not ranked"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun, singular for exactly one (``plural_form`` for irregular nouns)."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {word}"


def why_not_ranked(note: str | None) -> str | None:
    """The reason of a ranking note without its leading ``not ranked:`` (None when there is none)."""
    if note is None:
        return None
    text = note.strip()
    prefix = f"{NOT_RANKED}:"
    if text.lower().startswith(prefix):
        text = text[len(prefix) :].strip()
    return text or None


def rank_text(rank: int | None, *, ranked: int | None = None, note: str | None = None) -> str:
    """``rank 3/17`` (``/17`` when the number ranked is known), or ``not ranked: <why>``."""
    if rank is not None:
        return f"rank {rank}" + (f"/{ranked}" if ranked else "")
    why = why_not_ranked(note)
    return NOT_RANKED + (f": {why}" if why else "")


def shown_status(status: str, *, excluded: bool = False) -> str:
    """The status as people read it: ``excluded`` for an excluded submission, else the status in words."""
    return "excluded" if excluded else status.replace("_", " ")
