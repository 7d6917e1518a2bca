"""Validate request bodies against the spec: cheap when valid, openapi-core's word when not.

openapi-core is the authority, but its full request validation costs far more per call than
the schema check itself. Each operation therefore gets, once at start, the very jsonschema
validator openapi-core builds for that body (same factory, same dialect, same format
checker); a body it accepts is valid and costs one ``is_valid``. A body it rejects goes
through openapi-core's own ``validate_request`` for the errors that are reported.
tests/mockserver/test_validation.py proves the two agree on generated bodies.
"""

from __future__ import annotations

import json
from typing import Any

from openapi_core.testing import MockRequest
from openapi_core.validation.schemas import oas31_schema_validators_factory

from contracts.spec import Operation
from mockserver.field_messages import laravel_messages

__all__ = ["OperationValidator"]


class OperationValidator:
    """Validates one operation's JSON body; built once per operation at start."""

    def __init__(self, openapi: Any, op: Operation, base_path: str):
        self.openapi = openapi
        self.op = op
        self.base_path = base_path
        schema = openapi.spec / "paths" / op.path / op.method.lower()
        schema = schema / "requestBody" / "content" / "application/json" / "schema"
        self._fast = oas31_schema_validators_factory.create(openapi.spec, schema).validator
        self._path_regexes = {name: p.get("pattern") for name, p in op.path_params.items()}

    def is_valid(self, body: Any) -> bool:
        """The fast answer: does the body satisfy the operation's schema?"""
        return self._fast.is_valid(body)

    def errors(self, body: Any, path_params: dict[str, str] | None = None) -> dict[str, list[str]] | None:
        """None when valid, else Laravel-style field errors as openapi-core reports them."""
        if self._fast.is_valid(body):
            return None
        return self.authoritative_errors(body, path_params) or {"body": ["The body is invalid."]}

    def authoritative_errors(self, body: Any, path_params: dict[str, str] | None = None) -> dict[str, list[str]]:
        """openapi-core's full request validation; {} when it accepts the request."""
        path = self.base_path + self.op.path.format(**(path_params or {}))
        request = MockRequest(
            "http://127.0.0.1",
            self.op.method.lower(),
            path,
            view_args=path_params or {},
            data=json.dumps(body).encode(),
        )
        try:
            self.openapi.validate_request(request)
        except Exception as exc:  # openapi-core raises a family of errors; the cause holds schema errors
            schema_errors = getattr(exc.__cause__, "schema_errors", None) or getattr(exc, "schema_errors", None)
            if schema_errors:
                return laravel_messages(schema_errors)
            return {"body": [str(exc)]}
        return {}
