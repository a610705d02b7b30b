"""Stored fact sheets (:mod:`greenhack.factsheet`): written with a submission's outcome, read for its page and the
board's columns, and the YAML's ``factsheet.invalid`` applied to the boards' ranking.

What the board does with a missing or invalid fact sheet is decided when the boards are ranked, from what is stored,
so changing ``factsheet.invalid`` takes effect on the next ranking without evaluating anything again. A
submission with no stored fact sheet (evaluated before the event asked for one, or a train phase job) is ranked as
it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.factsheet import FactsheetResult
from greenhack.scoring.models import RankInput
from greenhack.store.db import store_errors
from greenhack.store.models import Factsheet, utcnow
from greenhack.store.views import FactsheetView

__all__ = ["apply_factsheet_policy", "record_factsheet"]


def record_factsheet(
    *, session: Session, submission_id: int, result: FactsheetResult, now: datetime | None = None
) -> None:
    """Store (or replace) the fact sheet read for a submission."""
    with store_errors(f"storing the fact sheet of submission {submission_id}"):
        row = session.get(Factsheet, submission_id)
        if row is None:
            row = Factsheet(submission_id=submission_id)
            session.add(row)
        row.file, row.present = result.file, result.present
        row.answers, row.problems = dict(result.answers), list(result.problems)
        row.read_at = now or utcnow()
        session.flush()


def apply_factsheet_policy(
    session: Session, *, inputs: Sequence[RankInput], config: EventConfig
) -> list[RankInput]:
    """The board's inputs with ``factsheet.invalid: unranked`` applied: a submission whose stored fact sheet is
    missing or invalid is not ranked, the reason its note (``rank``, or no fact sheet in the YAML: unchanged)."""
    section = config.factsheet
    if section is None or section.invalid != "unranked" or not inputs:
        return list(inputs)
    ids = [int(i.submission_id) for i in inputs]
    with store_errors("reading the boards' fact sheets"):
        rows = session.execute(sa.select(Factsheet).where(Factsheet.submission_id.in_(ids))).scalars().all()
    reasons = {r.submission_id: FactsheetView.model_validate(r).reason for r in rows}
    out = []
    for item in inputs:
        why = reasons.get(int(item.submission_id))
        out.append(replace(item, excluded=why) if why is not None and item.excluded is None else item)
    return out
