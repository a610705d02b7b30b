"""The demo event's files (``examples/demo/``) and its example teams, each a real model of a different cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greenhack.config import EventConfig
from greenhack.errors import ServiceError
from greenhack.shipped import demo_event_dir

__all__ = ["DEMO_BASELINE", "DEMO_TEAMS", "DemoTeam", "demo_event_dir", "team_factsheet", "team_script"]

@dataclass(frozen=True)
class DemoTeam:
    """One example team.

    Attributes:
        name: the team (its GitLab project's path).
        model: what its submission trains, in words.
        folder: where its files are in the event's folder (``teams``; ``baselines`` for the organisers').
    """

    name: str
    model: str
    folder: str = "teams"


# In the order they "push"; from cheap to costly, plus one below the event's minimum accuracy.
DEMO_TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam("pixel-pushers", "3 nearest neighbours on raw pixels"),
    DemoTeam("lean-linear", "scaled pixels + logistic regression"),
    DemoTeam("forest-rangers", "600-tree random forest"),
    DemoTeam("deep-thinkers", "two-layer perceptron, 20 epochs"),
    DemoTeam("naive-bayesics", "Gaussian naive Bayes"),
)

# The organisers' baseline (event.yaml's baselines:): pushed first, run and measured like a team's job, never ranked.
DEMO_BASELINE = DemoTeam("baseline-logreg", "organisers' baseline: logistic regression", folder="baselines")


def team_script(event_dir: Path, team: DemoTeam) -> Path:
    """The team's ``submission.py``.

    Raises:
        ServiceError: the file is missing.
    """
    path = event_dir / team.folder / team.name / "submission.py"
    if not path.is_file():
        raise ServiceError(f"the demo team {team.name!r} has no submission at {path}")
    return path


def team_factsheet(event_dir: Path, team: DemoTeam, config: EventConfig) -> dict[str, bytes]:
    """The fact sheet the team's repository holds, as its job keeps it (artifact path → bytes); empty when the
    event asks none or the team wrote none."""
    if config.factsheet is None:
        return {}
    path = event_dir / team.folder / team.name / config.factsheet.file
    return {config.factsheet.file: path.read_bytes()} if path.is_file() else {}
