"""The generic behaviour: any OpenAPI 3.0/3.1 operation served the way Prism serves it.

An operation without ``x-mock-behaviour`` (or with ``kind: static``) is answered from the spec
alone:

1. the body, when there is one and it is JSON, must parse (else 400);
2. path, query, header parameters and body are validated by openapi-core against the operation
   (else 422, or 415 for a content type the operation does not take), with one ``validation``
   entry per error naming where it is (``["body", "name"]``, ``["query", "limit"]``);
3. ``Prefer`` may choose the answer as in Prism: ``code=404`` (a status the operation declares),
   ``example=NAME`` (a named example of that status), ``dynamic=true`` (a body drawn from the
   schema; ``seed=N`` makes it reproducible); a bad value is a 400;
4. the answer is the chosen status (by default the lowest 2xx the operation declares) with the
   spec's example for it (a named example, ``example``, or the schema's ``example``), or else a body
   generated from its schema (``contracts.core.sample``, the same body every time).

No API key is asked for and nothing is stored; the request is journalled like any other.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Mapping
from urllib.parse import parse_qsl

from contracts.core.sample import sample
from contracts.core.spec import Operation
from mockserver.behaviours.registry import Behaviour, register
from mockserver.behaviours.services import Services
from mockserver.engine import errors
from mockserver.engine.context import Outcome, RequestContext
from mockserver.engine.directives import DirectiveError, parse_prefer
from mockserver.engine.parsing import BodyError, is_json_content_type, parse_json
from mockserver.engine.validation import request_host

__all__ = ["Generic", "openapi_errors"]


def _status_order(code: str) -> tuple[int, int]:
    """Success first (lowest 2xx), then ``default``, then every other status by number."""
    if code.isdigit():
        number = int(code)
        return (0 if 200 <= number < 300 else 2, number)
    if code.upper().endswith("XX") and code[:1].isdigit():
        return (0 if code[0] == "2" else 2, int(code[0]) * 100 + 99)
    return (1, 0)  # default


def _http_status(code: str) -> int:
    if code.isdigit():
        return int(code)
    if code[:1].isdigit():
        return int(code[0]) * 100
    return 200  # "default" answering a request the spec says nothing else about


def _json_media(content: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(media type, media object) of a response: JSON first, else the first one declared."""
    for name, media in content.items():
        if is_json_content_type(name) or name == "*/*":
            return ("application/json" if name == "*/*" else name), media if isinstance(media, dict) else {}
    for name, media in content.items():
        return name, media if isinstance(media, dict) else {}
    return None, {}


def _where(location: str, path: Any) -> list[Any]:
    return [location, *[p for p in path]]


def _schema_errors(location: str, prefix: list[Any], cause: Any) -> list[dict[str, Any]]:
    found = []
    for error in getattr(cause, "schema_errors", None) or ():
        code = str(getattr(error, "validator", "invalid"))
        path = [*prefix, *list(getattr(error, "absolute_path", []) or [])]
        instance = getattr(error, "instance", None)
        if code == "required" and isinstance(instance, dict):
            for name in error.validator_value:
                if name not in instance:
                    found.append({"location": _where(location, [*path, name]), "code": code,
                                  "message": f"{name!r} is a required property"})
            continue
        if code == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
            known = set(error.schema.get("properties") or {})
            for name in instance:
                if name not in known:
                    found.append({"location": _where(location, [*path, name]), "code": code,
                                  "message": f"{name!r} is not a property this body may have"})
            continue
        found.append({"location": _where(location, path), "code": code, "message": error.message})
    return found


def openapi_errors(exc_list: list[Exception]) -> tuple[int, list[dict[str, Any]]]:
    """(status, validation entries) for openapi-core's request errors (415 for an unknown media type)."""
    status = 422
    found: list[dict[str, Any]] = []
    for exc in exc_list:
        name = type(exc).__name__
        cause = exc.__cause__
        if hasattr(exc, "location") and hasattr(exc, "name"):  # a parameter
            where = [str(exc.location), str(exc.name)]
            if name in ("MissingRequiredParameter", "MissingParameter"):
                found.append({"location": where, "code": "required", "message": f"{exc.location} parameter "
                              f"{exc.name!r} is required"})
            elif getattr(cause, "schema_errors", None):
                found.extend(_schema_errors(where[0], [where[1]], cause))
            else:
                found.append({"location": where, "code": "type", "message": str(cause or exc)})
        elif name in ("MissingRequiredRequestBody", "MissingRequestBody"):
            found.append({"location": ["body"], "code": "required", "message": "a request body is required"})
        elif type(cause).__name__ == "MediaTypeNotFound":
            status = 415
            found.append({"location": ["header", "content-type"], "code": "mediaType", "message": str(cause)})
        elif getattr(cause, "schema_errors", None):
            found.extend(_schema_errors("body", [], cause))
        else:
            found.append({"location": ["request"], "code": "invalid", "message": str(cause or exc)})
    return status, found


@register("generic")
class Generic(Behaviour):
    """Validates with openapi-core and answers with the spec's examples (Prism's way)."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        responses = {str(code): value for code, value in (op.responses or {}).items() if isinstance(value, dict)}
        self.responses = dict(sorted(responses.items(), key=lambda item: _status_order(item[0])))
        self._static_seed = int(hashlib.sha256(op.operation_id.encode()).hexdigest()[:8], 16)
        self._declared = [code for code in self.responses]

    def bind(self, services: Services) -> None:
        super().bind(services)
        self.openapi = services.spec.openapi
        self.host = request_host(services.spec.document)
        self.steps = (self.parse, self.validate, self.read_prefer, self.respond)
        self.after = (self.finish,)

    # -- the steps ------------------------------------------------------------------------------------

    def parse(self, ctx: RequestContext) -> Outcome | None:
        incoming = ctx.incoming
        ctx.raw = incoming.body or None
        if incoming.body and is_json_content_type(incoming.content_type):
            try:
                ctx.raw = parse_json(incoming.body)
            except BodyError as exc:
                ctx.validation = {"valid": False, "errors": {"body": [str(exc)]}}
                return self._problem(400, errors.problem(400, "Invalid JSON", f"The request body is not JSON: {exc}"))
        ctx.body = ctx.raw if isinstance(ctx.raw, dict) else {}
        return None

    def validate(self, ctx: RequestContext) -> Outcome | None:
        from openapi_core.testing import MockRequest

        incoming = ctx.incoming
        request = MockRequest(
            self.host, incoming.method.lower(), incoming.path.split("?", 1)[0],
            args=parse_qsl(incoming.query, keep_blank_values=True), view_args=dict(incoming.path_params),
            headers=dict(incoming.headers), data=incoming.body or None,
            content_type=incoming.content_type or "",
        )
        try:
            found = list(self.openapi.request_validator.iter_errors(request))
        except Exception as exc:  # openapi-core could not even look (a spec it cannot read there)
            found = [exc]
        found = [e for e in found if type(e).__name__ not in ("SecurityValidationError", "InvalidSecurity")]
        if not found:
            ctx.validation = {"valid": True}
            return None
        status, entries = openapi_errors(found)
        ctx.validation = {"valid": False, "errors": {".".join(map(str, e["location"])): [e["message"]]
                                                     for e in entries}}
        body = errors.validation_problem(entries, status)
        if status == 415:
            body["title"] = "Unsupported media type"
        return self._problem(status, body)

    def read_prefer(self, ctx: RequestContext) -> Outcome | None:
        try:
            ctx.prefer = parse_prefer(ctx.incoming.prefer)
        except DirectiveError as exc:
            return self._problem(400, errors.problem(400, "Invalid Prefer header", str(exc)))
        return None

    def respond(self, ctx: RequestContext) -> Outcome:
        prefer = ctx.prefer
        if not self.responses:
            return Outcome(200, b"", {}, ctx.warnings, "generic")
        if prefer.code is not None:
            code = str(prefer.code)
            if code not in self.responses:
                code = next((c for c in self.responses if c.upper() == f"{code[0]}XX"), None) or ""
            if not code:
                return self._problem(400, errors.problem(
                    400, "Invalid Prefer header", f"Prefer: code={prefer.code} is not a response of "
                    f"{self.op.operation_id}; declared: {', '.join(self._declared)}"))
            status = int(prefer.code)
        else:
            code = next(iter(self.responses))
            status = _http_status(code)
        media_type, media = _json_media(self.responses[code].get("content") or {})
        headers = {"Content-Type": media_type} if media_type else {}
        variant = "example"
        if media_type is None:
            body: Any = b""
        elif prefer.example is not None:
            examples = media.get("examples") or {}
            if prefer.example not in examples:
                return self._problem(400, errors.problem(
                    400, "Invalid Prefer header", f"Prefer: no example named {prefer.example!r} for {code}; "
                    f"available: {', '.join(sorted(examples)) or 'none'}"))
            body = (examples[prefer.example] or {}).get("value")
        elif prefer.dynamic:
            seed = prefer.seed if prefer.seed is not None else self.services.rng.draw(lambda r: r.getrandbits(32))
            body, variant = sample(media.get("schema") or {}, random.Random(seed)), "dynamic"
        else:
            body, variant = self._static_body(media)
        if media_type is not None and not is_json_content_type(media_type):
            body = body if isinstance(body, bytes) else str(body if body is not None else "").encode()
        return Outcome(status, body, headers, ctx.warnings, variant)

    def finish(self, ctx: RequestContext, outcome: Outcome) -> None:
        latency = self.services.latency
        delay = ctx.prefer.delay if ctx.prefer.delay is not None else latency.sample(self.kind)
        outcome.delay = latency.cap(delay)
        if outcome.delay > 0:
            outcome.headers["X-Mock-Delay"] = f"{outcome.delay:g}"

    # -- helpers ----------------------------------------------------------------------------------------

    def _static_body(self, media: Mapping[str, Any]) -> tuple[Any, str]:
        examples = media.get("examples")
        if isinstance(examples, dict):
            for example in examples.values():
                if isinstance(example, dict) and "value" in example:
                    return example["value"], "example"
        if "example" in media:
            return media["example"], "example"
        schema = media.get("schema") or {}
        if isinstance(schema, dict) and "example" in schema:
            return schema["example"], "example"
        return sample(schema, random.Random(self._static_seed)), "schema"

    def _problem(self, status: int, body: dict[str, Any]) -> Outcome:
        return Outcome(status, body, {"Content-Type": errors.PROBLEM_JSON}, [], "error")
