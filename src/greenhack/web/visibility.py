"""Which board a visitor sees, from the times of the board's phase, an admin's freeze override and who is asking.

Each phase (``greenhack.competition``; an event without ``phases:`` is one, with the event's times) follows
these rules on its own times (``greenhack.store.freeze.phase_freeze_state``); "closes" below is when its private
rows may be shown (``EventPhase.final_shown_at``).

- before the freeze: everyone sees the live board (public rows);
- from the freeze (the YAML's ``event.freeze`` or an admin's freeze) until the event closes: visitors see the
  frozen board (submissions made before the cut), admins still see the live one;
- once the event closes: everyone sees the final board (private rows).
An admin's unfreeze keeps the live board public until the event closes.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenhack.competition import BoardName
from greenhack.store.freeze import FreezeState, freeze_state

__all__ = ["BoardChoice", "BoardName", "FreezeState", "choose_board", "freeze_state"]  # freeze: re-exported



@dataclass(frozen=True)
class BoardChoice:
    """The board to show and why; ``allowed`` lists the boards this visitor may ask for; ``phase`` and
    ``track`` name the board's phase and hardware track (``""``: the event has none)."""

    name: BoardName
    state: FreezeState
    allowed: tuple[BoardName, ...]
    phase: str = ""
    track: str = ""

    @property
    def query(self) -> str:
        """The phase and track as a URL's query string starts (``phase=final&track=a100&``; ``""`` for an event
        without either), so that a link to another board name or sort order stays on this phase and track."""
        return "".join(f"{k}={v}&" for k, v in (("phase", self.phase), ("track", self.track)) if v)


def choose_board(state: FreezeState, *, admin: bool, asked: BoardName | None = None) -> BoardChoice:
    """The board shown to a visitor (or an admin) who asked for ``asked`` (None: the default one).

    Raises:
        PermissionError: the visitor asked for a board hidden from them (live after the freeze, final before
            the close).
    """
    if admin:
        allowed: tuple[BoardName, ...] = ("live", "frozen", "final")
        default: BoardName = "final" if state.closed else "live"
    elif state.closed:
        allowed = ("final", "frozen") if state.cut is not None else ("final",)
        default = "final"
    elif state.frozen:
        allowed, default = ("frozen",), "frozen"
    else:
        allowed, default = ("live",), "live"
    if asked is not None and asked not in allowed:
        raise PermissionError(f"the {asked} board is not public now (available: {', '.join(allowed)})")
    return BoardChoice(name=asked or default, state=state, allowed=allowed, phase=state.phase)
