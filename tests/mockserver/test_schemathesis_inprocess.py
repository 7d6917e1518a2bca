"""Schemathesis against the in-process app (no socket), with its default checks.

Positive and negative data for every operation in the project spec. The mock runs strict and
with ``--http-errors`` here, because that is the mode in which the spec's promise is
checkable by a generic tool: invalid data must be rejected with a 4xx and valid data
accepted (a fetch of an id nobody created is a 404, which the spec documents). It also
validates its own responses, so a body outside the spec would be a 500 and fail
``not_a_server_error`` as well as ``response_schema_conformance``.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from contracts.core.spec import spec_path
from mockserver import MockConfig, create_app

CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": [200, 404]},
        },
    }
)
schema = schemathesis.openapi.from_path(str(spec_path()), config=CONFIG)
app = create_app(
    MockConfig(seed=7, store="memory", strict=True, http_errors=True, models=("*",), processing_ratio=0.3,
               failed_ratio=0.1, validate_responses=True, queue_limit=0)  # one key, many queued jobs
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_mock_honours_the_spec(case):
    case.call_and_validate(app=app)
