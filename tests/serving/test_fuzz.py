"""Fuzz the API from its own OpenAPI schema (schemathesis), on a loopback server.

Every operation gets a bounded number of generated requests; each response must
not be a server error and must match the status codes, content type and body
schema the OpenAPI document declares.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from ssl4rec.serving.app import create_app  # noqa: E402
from ssl4rec.serving.settings import ServeSettings  # noqa: E402

MAX_EXAMPLES = 15


@pytest.mark.parametrize("model_fixture", ["ease_model", "sasrec_model"])
def test_every_operation_answers_within_its_schema(
    request, model_fixture, live_server, tmp_path
) -> None:
    """EASE, and SASRec for the operations only Transformers answer with 200 (attention)."""
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    model = request.getfixturevalue(model_fixture)
    app = create_app(ServeSettings(db=str(tmp_path / "e.sqlite")), model=model)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    with live_server(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [op.ok() for op in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case: object) -> None:
                case.call_and_validate(base_url=url, checks=checks, timeout=10)  # type: ignore[attr-defined]

            run()
