"""Validate requests against the spec: cheap when valid, openapi-core's word when not.

openapi-core is the authority, but its full request validation costs about 0.7 ms per call and
importing it about 0.4 s, which would double a cold start. Each operation therefore gets, once
at start, a compiled Rust validator (jsonschema-rs, Draft 2020-12, the dialect of OpenAPI 3.1)
for its body and path parameters, with format checks done by the very functions openapi-core's
validator uses. A request it accepts is valid and costs a few microseconds. Anything it
rejects goes to openapi-core's own ``validate_request``, whose answer is final both ways: its
errors are what the client sees, and a request it accepts is accepted. openapi-core itself is
loaded on first need (or warmed in the background after start, see ``LazyOpenAPI``).
tests/mockserver/test_validation_agreement.py proves, on generated valid and invalid bodies,
that the fast answer and openapi-core's agree.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

import jsonschema_rs

from contracts.core.formats import format_validators
from contracts.core.spec import Operation
from mockserver.engine.field_messages import laravel_messages

__all__ = ["LazyOpenAPI", "OperationValidator", "format_checkers", "request_host", "response_validators"]


def format_checkers() -> dict[str, Callable[[str], bool]]:
    """The formats the fast path checks itself; any other format in a schema sends the request
    to openapi-core (the fast path then answers "not sure", never "valid")."""
    return dict(format_validators())  # "uri" in linear time, exactly as openapi-core is told to check it


def _formats_in(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        fmt = node.get("format")
        if isinstance(fmt, str):
            found.add(fmt)
        for value in node.values():
            _formats_in(value, found)
    elif isinstance(node, list):
        for value in node:
            _formats_in(value, found)
    return found


def _compile(schema: dict[str, Any]) -> Any:
    known = format_checkers()
    formats = {name: known.get(name, lambda value: False) for name in _formats_in(schema, set())}
    return jsonschema_rs.Draft202012Validator(schema, formats=formats, validate_formats=True)


class LazyOpenAPI:
    """openapi-core's ``OpenAPI`` for a spec, loaded on first use and shared by the process."""

    def __init__(self, spec: str):
        self.spec_name = spec
        self._loaded: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    from contracts.core.spec import load_openapi

                    self._loaded = load_openapi(self.spec_name)
        return self._loaded

    def warm_up(self) -> threading.Thread:
        """Load in a daemon thread, so the first invalid request does not pay for the import."""
        thread = threading.Thread(target=self.load, name="openapi-core-warm-up", daemon=True)
        thread.start()
        return thread

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def request_host(document: dict[str, Any]) -> str:
    """Scheme and host openapi-core will accept for a request to this spec: those of its first
    server when that is absolute (openapi-core matches requests against ``servers``), else any."""
    from urllib.parse import urlsplit

    from contracts.core.spec import first_server_url

    url = first_server_url(document)
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return "http://127.0.0.1"


def response_validators(openapi: Any, operations: dict[str, Operation]) -> dict[str, Any]:
    """A validator of each operation's 200 JSON body (``validate_responses``: a mock bug is a 500)."""
    from openapi_core.validation.schemas import oas31_schema_validators_factory

    found = {}
    for op_id, op in operations.items():
        media = (op.responses.get("200") or {}).get("content", {}).get("application/json")
        if not isinstance(media, dict) or "schema" not in media:
            continue
        path = openapi.spec / "paths" / op.path / op.method.lower() / "responses" / "200"
        path = path / "content" / "application/json" / "schema"
        found[op_id] = oas31_schema_validators_factory.create(openapi.spec, path).validator
    return found


class OperationValidator:
    """Validates one operation's JSON body (and path parameters); built once per operation at start."""

    def __init__(self, openapi: Any, op: Operation, base_path: str, host: str = "http://127.0.0.1"):
        self.openapi = openapi
        self.op = op
        self.base_path = base_path
        self.host = host
        self._fast = _compile(op.body_schema or {})
        # Path parameters arrive as strings; only string-typed ones can be checked without
        # openapi-core's casting, the rest always go to the authority.
        self._params = {
            name: _compile(schema) if schema.get("type") == "string" else None
            for name, schema in op.path_params.items()
        }

    def is_valid(self, body: Any, path_params: dict[str, str] | None = None) -> bool:
        """The fast answer: True only when the body (and, when given, the path parameters)
        surely satisfy the spec; False means "ask openapi-core"."""
        try:
            if not self._fast.is_valid(body):
                return False
            if path_params is None:
                return True
            for name, validator in self._params.items():
                value = path_params.get(name)
                if validator is None or value is None or not validator.is_valid(value):
                    return False
        except (ValueError, TypeError, OverflowError):  # a value Rust cannot take: ask the authority
            return False
        return True

    def errors(self, body: Any, path_params: dict[str, str] | None = None) -> dict[str, list[str]] | None:
        """None when valid, else Laravel-style field errors as openapi-core reports them."""
        if self.is_valid(body, path_params or {}):
            return None
        return self.authoritative_errors(body, path_params) or None

    def authoritative_errors(self, body: Any, path_params: dict[str, str] | None = None) -> dict[str, list[str]]:
        """openapi-core's full request validation; {} when it accepts the request."""
        from openapi_core.testing import MockRequest

        path = self.base_path + self.op.path.format(**(path_params or {}))
        request = MockRequest(
            self.host,
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
