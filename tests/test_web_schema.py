"""schemathesis against `refman serve`'s OpenAPI schema (bounded examples): no 500, every response matches its
schema and status codes, bad input gets a 4xx with a one-line `{"error"}`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (dev extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from web_demo import build_demo  # noqa: E402
from web_server import Served, serve  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    demo = build_demo(tmp_path_factory.mktemp("schemademo"))
    srv = serve(demo.db)
    yield srv
    srv.stop()


def test_api_conforms(served: Served) -> None:
    # The schema is loaded from the running server; each operation gets its own bounded hypothesis run.
    schema = schemathesis.openapi.from_url(served.base + "openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/search", "/api/sources", "/api/sources/{ref}",
                                              "/api/sources/{ref}/text", "/api/notes", "/api/export",
                                              "/api/capture"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers={"Authorization": f"Bearer {served.token}"})
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                     status_code_conformance])
            if 400 <= response.status_code < 500:
                error = response.json()["error"]
                assert error and "\n" not in error

        check()
    assert len(statuses) >= 5 * len(operations) and 200 in statuses and 400 in statuses
