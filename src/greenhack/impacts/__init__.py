"""Environmental impacts of a job: BoaviztAPI factors (cached) x measured energy and duration.

>>> calculator = ImpactCalculator(BoaviztaClient(url), FactorCache.in_data_dir(settings.data_dir))
>>> job = calculator.impacts(server, config.impact, energy_j=5.4e6, duration_s=1800)
>>> job.headline.total, job.headline.unit
"""

from __future__ import annotations

from greenhack.impacts.client import BoaviztaClient, PhaseImpacts, ServerAnswer
from greenhack.impacts.compute import ImpactCalculator, impacts_from_factors
from greenhack.impacts.equivalences import equivalences
from greenhack.impacts.factors import (
    FactorCache,
    derive_factors,
    factor_key,
    hardware_query,
    server_yaml_key,
)
from greenhack.impacts.models import (
    CRITERIA,
    CRITERION_UNITS,
    J_PER_KWH,
    Bound,
    Criterion,
    CriterionFactors,
    CriterionImpact,
    Equivalence,
    HardwareQuery,
    JobImpacts,
    ServerFactors,
)
from greenhack.impacts.source import ImpactSource

__all__ = [
    "CRITERIA",
    "CRITERION_UNITS",
    "J_PER_KWH",
    "BoaviztaClient",
    "Bound",
    "Criterion",
    "CriterionFactors",
    "CriterionImpact",
    "Equivalence",
    "FactorCache",
    "HardwareQuery",
    "ImpactCalculator",
    "ImpactSource",
    "JobImpacts",
    "PhaseImpacts",
    "ServerAnswer",
    "ServerFactors",
    "derive_factors",
    "equivalences",
    "factor_key",
    "hardware_query",
    "impacts_from_factors",
    "server_yaml_key",
]
