"""Storage: ORM models, engine and sessions, migrations, queries, boards and the evaluation queue.

Modules: ``models`` (ORM), ``db`` (engines, sessions, migrations), ``crud`` (writes), ``queries`` (reads, as
``views``), ``queue`` (the evaluation queue), ``boards`` (re-ranking and rescoring), ``freeze``.
"""

from __future__ import annotations

__all__: list[str] = []
