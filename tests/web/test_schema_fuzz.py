"""Schemathesis drives every operation of the OpenAPI schema with generated input, on SQLite and PostgreSQL, and
validates every response against the schema: no 500; every status code is one the operation documents; the
content type and the body conform to what is documented for that code; documented headers are present.

Input is generated both valid for the schema (positive) and invalid for it (negative: the API must then reject
it with a 4xx). Admin operations run with the token and without it (a visitor's 401 is documented too).

(Schemathesis' pytest plugin does not run under pytest 9, so its strategies are driven by Hypothesis here.)
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from web_support import Seeder, admin_headers

# every check Schemathesis knows that a correct API passes whatever input it is sent
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_every_operation_survives_generated_input(
    app_factory: Callable[..., TestClient], seed: Seeder
) -> None:
    seed(teams=3, per_team=2)
    client = app_factory()
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    seen: dict[str, set[int]] = {}
    failures = []
    for operation in operations:
        as_whom = [admin_headers(), None] if operation.path.startswith("/api/v1/admin") else [None]
        for headers in as_whom:
            for mode in _modes(operation):
                # every operation is tried and the report names each one that fails (Schemathesis raises its
                # findings as a FailureGroup, a BaseExceptionGroup)
                try:
                    _runner(operation, mode, headers, seen)()
                except (Exception, BaseExceptionGroup) as exc:
                    who = "admin" if headers else "visitor"
                    label = f"{operation.method.upper()} {operation.path} ({mode.value}, {who})"
                    failures.append(f"{label}: {_describe(exc)}")
    assert not failures, "\n\n".join(failures)
    # the generated requests reached the handlers, not only the validation layer
    assert any(200 in codes for codes in seen.values())


def _modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    # an operation that takes no input at all has no schema-violating input to send
    has_input = any(True for _ in operation.iter_parameters()) or len(operation.body) > 0
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if has_input else [GenerationMode.POSITIVE]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _runner(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    headers: dict[str, str] | None,
    seen: dict[str, set[int]],
) -> Callable[[], None]:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
        case.validate_response(response, checks=CHECKS)

    return run
