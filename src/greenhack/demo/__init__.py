"""``greenhack demo``: a small Green AI event run end to end on one machine with the platform's real pipeline.

Five example teams (``examples/demo/teams/``) train scikit-learn models of different cost on the bundled digits
(:mod:`~greenhack.demo.dataset`); :mod:`~greenhack.demo.stack` starts the local services;
:mod:`~greenhack.demo.event` runs the jobs measured and lets the platform evaluate and rank them;
:mod:`~greenhack.demo.telemetry` turns the measured power into the simulated exporter's series.

Submodules are imported on use: the dataset needs the ``demo`` extra (scikit-learn, NumPy).
"""

from __future__ import annotations

__all__: list[str] = []
