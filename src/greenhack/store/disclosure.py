"""What of a submission's reason a visitor may read (the public board's notes and the web pages use it).

Reasons may carry the predictions' problems (which can name truth labels: "label 'x' never seen in the truth")
or a platform error; teams read theirs in their GitLab commit comment, admins on the submission's page. A
visitor reads the reason itself only where it is public: the job's outcome as GitLab shows it, the measurement's
problems and overlapping windows (the shared server's telemetry is the platform's transparency).
"""

from __future__ import annotations

__all__ = ["public_reason"]

# reasons that a visitor may read as they are: the team's job outcome as GitLab shows it, the measurement's
# problems and overlapping windows (public telemetry of a shared server)
_PUBLIC_PREFIXES: dict[str, tuple[str, ...]] = {
    "invalid": ("the job ",),
    "needs_review": ("telemetry: ", "its window on "),
}
_PRIVATE_REASON = {
    "invalid": "the predictions were rejected; the team's GitLab commit comment lists the problems",
    "needs_review": "an organiser reviews this job",
    "failed": "the platform could not evaluate this job after its retries; the organisers see why",
}


def public_reason(status: str, reason: str | None) -> str | None:
    """The reason a visitor may read for a submission in ``status`` (``reason`` itself where it is public)."""
    if reason is None:
        return None
    if reason.startswith(_PUBLIC_PREFIXES.get(status, ())):
        return reason
    return _PRIVATE_REASON.get(status, "see the organisers")
