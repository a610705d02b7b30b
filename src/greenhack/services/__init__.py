"""Real services on free loopback ports, for the tests, the demo and the benches.

- :mod:`~greenhack.services.prometheus`: a Prometheus server, backfilled with ``promtool`` and/or scraping targets.
- :mod:`~greenhack.services.openmetrics`: typed samples to OpenMetrics text for the backfill.
- :mod:`~greenhack.services.boavizta`: a BoaviztAPI server run from its own virtualenv.
- :mod:`~greenhack.services.postgres`: throwaway PostgreSQL databases.
- :mod:`~greenhack.services.ports`: free ports and waiting until a service answers.

Every failure to start or reach one of them is a :class:`greenhack.errors.ServiceError` whose message says what
to do (install hint, the last lines of the process log).
"""

from __future__ import annotations

from greenhack.services.boavizta import BoaviztaServer, find_boavizta_python
from greenhack.services.openmetrics import SeriesSamples, openmetrics_text
from greenhack.services.ports import free_port, wait_until_ready
from greenhack.services.postgres import database_exists, temporary_database
from greenhack.services.prometheus import PrometheusServer, static_scrape_config

__all__ = [
    "BoaviztaServer",
    "PrometheusServer",
    "SeriesSamples",
    "database_exists",
    "find_boavizta_python",
    "free_port",
    "openmetrics_text",
    "static_scrape_config",
    "temporary_database",
    "wait_until_ready",
]
