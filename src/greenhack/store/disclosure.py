"""What of a submission's reason a visitor may read (the public board's notes and the web pages use it).

Reasons may carry the predictions' problems (which can name truth labels: "label 'x' never seen in the truth")
or a platform error; teams read theirs in their GitLab commit comment, admins on the submission's page. A
visitor reads the reason itself only where its code is public (:attr:`greenhack.status.ReasonCode.public`: the
job's outcome as GitLab shows it, the measurement's problems and overlapping windows); otherwise a sentence of
what happened, by status. The text's wording never decides.
"""

from __future__ import annotations

from greenhack.status import Reason, Status

__all__ = ["public_reason"]

_PRIVATE_REASON = {
    Status.INVALID: "the predictions were rejected; the team's GitLab commit comment lists the problems",
    Status.NEEDS_REVIEW: "an organiser reviews this job",
    Status.FAILED: "the platform could not evaluate this job after its retries; the organisers see why",
}


def public_reason(status: str, reason: Reason | None) -> str | None:
    """The reason a visitor may read for a submission in ``status``: ``reason``'s text where its code is
    public, else what happened in a sentence."""
    if reason is None:
        return None
    if reason.public:
        return reason.text
    return _PRIVATE_REASON.get(status, "see the organisers")
