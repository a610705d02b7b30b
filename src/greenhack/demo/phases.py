"""The demo's two phases, dated as it runs: the practice phase closes between its two rounds of jobs.

``examples/demo/event.yaml`` lists a practice phase then a final phase, with a placeholder boundary far in the
future; a real event's phases last days, the demo's a minute. Once its practice round has run, the demo moves
the boundary (the practice phase's ``closes`` and the final phase's ``opens``) to that moment and writes the event
as run to ``event.yaml`` in its work folder, with the truth file's path made absolute: that file is what the
platform evaluates, ranks and serves the board with, so every job belongs to the phase it was created in.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from greenhack.errors import ServiceError

__all__ = ["dated_event_yaml"]


def dated_event_yaml(source: Path, *, boundary: datetime) -> str:
    """The demo event's YAML (``source``) with its two phases meeting at ``boundary`` and its truth file named by
    its absolute path (the text is written elsewhere than ``source``'s folder).

    Raises:
        ServiceError: the event does not list exactly two phases.
    """
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    phases = data.get("phases")
    if not isinstance(phases, list) or len(phases) != 2:
        raise ServiceError(f"{source}: the demo event lists two phases (practice, final), not {phases!r}")
    phases[0]["closes"] = boundary
    phases[1]["opens"] = boundary
    truth = Path(data["task"]["truth"])
    data["task"]["truth"] = str(truth if truth.is_absolute() else (source.parent / truth).resolve())
    head = (
        f"# Written by greenhack demo from {source.name}: the event as run, the practice phase closed at "
        f"{boundary.isoformat()}, between the demo's two rounds.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
