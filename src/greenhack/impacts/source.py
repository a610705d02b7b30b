"""What the evaluation and the live energy route ask of impacts: :class:`ImpactSource`."""

from __future__ import annotations

from typing import Protocol

from greenhack.config import ImpactSection, ServerConfig
from greenhack.impacts.models import JobImpacts

__all__ = ["ImpactSource"]


class ImpactSource(Protocol):
    """Impacts of a measured energy and duration on a server (:class:`~greenhack.impacts.ImpactCalculator`)."""

    def impacts(
        self,
        server: ServerConfig,
        impact: ImpactSection,
        *,
        energy_j: float,
        duration_s: float,
        server_key: str | None = None,
        energy_low_j: float | None = None,
        energy_high_j: float | None = None,
    ) -> JobImpacts: ...
