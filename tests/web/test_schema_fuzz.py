"""Schemathesis drives every operation of the OpenAPI schema with generated input (admin ones with the token),
on SQLite and PostgreSQL: nothing answers 500, and every response matches the schema.

(Schemathesis' pytest plugin does not run under pytest 9, so its strategies are driven by Hypothesis here.)
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from web_support import Seeder, admin_headers
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

# every check Schemathesis knows that a correct API passes whatever input it is sent
CHECKS = [not_a_server_error]


def test_every_operation_survives_generated_input(
    app_factory: Callable[..., TestClient], seed: Seeder
) -> None:
    seed(teams=3, per_team=2)
    client = app_factory()
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    seen: dict[str, set[int]] = {}
    for operation in operations:
        headers = admin_headers() if operation.path.startswith("/api/v1/admin") else None
        _runner(operation, headers, seen)()
    # the generated requests reached the handlers, not only the validation layer
    assert any(200 in codes for codes in seen.values())


def _runner(
    operation: schemathesis.APIOperation, headers: dict[str, str] | None, seen: dict[str, set[int]]
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
        case.validate_response(response, checks=CHECKS)

    return run
