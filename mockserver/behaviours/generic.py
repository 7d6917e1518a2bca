"""The generic behaviour: any OpenAPI 3.0/3.1 operation served the way Prism serves it.

An operation without ``x-mock-behaviour`` (or with ``kind: static``) is answered from the spec
alone:

1. the body, when there is one and it is JSON, must parse (else 400);
2. the operation's security requirements must be met (``mockserver.behaviours.security``: the
   credential is there, whatever its value), else 401 with ``WWW-Authenticate`` for HTTP schemes,
   answered with the operation's own 401 response when it declares one; every credential found is
   masked in the journal;
3. path, query, header parameters and body are validated by openapi-core against the operation
   (else 422, or 415 for a content type the operation does not take), with one ``validation``
   entry per error naming where it is (``["body", "name"]``, ``["query", "limit"]``);
4. ``Prefer`` may choose the answer as in Prism: ``code=404`` (a status the operation declares),
   ``example=NAME`` (a named example of that status), ``dynamic=true`` (a body drawn from the
   schema; ``seed=N`` makes it reproducible); a bad value is a 400;
5. the answer is the chosen status (by default the lowest 2xx the operation declares) with the
   spec's example for it (a named example, ``example``, or the schema's ``example``), or else a body
   generated from its schema (``contracts.core.sample``, the same body every time), and the
   response headers it declares (their example, else their schema's example, default or a drawn
   value).

Nothing is stored; the request is journalled like any other.
"""

from __future__ import annotations

import hashlib
import random
import warnings
from typing import Any, Mapping
from urllib.parse import parse_qsl

from contracts.core.sample import sample
from contracts.core.spec import Operation, deref
from mockserver.behaviours.registry import Behaviour, register
from mockserver.behaviours.security import Check, requirements
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


_NONE = object()


def _header_example(header: Mapping[str, Any]) -> Any:
    """The value a header's description gives: its example, a named example, its schema's example,
    default or first enum value; ``_NONE`` when it gives none."""
    if "example" in header:
        return header["example"]
    examples = header.get("examples")
    if isinstance(examples, dict):
        for example in examples.values():
            if isinstance(example, dict) and "value" in example:
                return example["value"]
    schema = header.get("schema") if isinstance(header.get("schema"), dict) else {}
    for word in ("example", "default"):
        if word in schema:
            return schema[word]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return _NONE


def _header_text(value: Any) -> str | None:
    """A header value in the ``simple`` style OpenAPI gives headers; None for nothing sendable."""
    if value is None or value is _NONE:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(_header_text(v) or "") for v in value)
    elif isinstance(value, dict):
        text = ",".join(f"{k},{_header_text(v) or ''}" for k, v in value.items())
    else:
        text = str(value)
    text = "".join(c for c in text if c == "\t" or " " <= c <= "~")  # one line of visible ASCII
    return text[:1024] or None


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
        self.document = services.spec.document
        self.host = request_host(self.document)
        raw = ((self.document.get("paths") or {}).get(self.op.path) or {}).get(self.op.method.lower()) or {}
        self.security = requirements(self.document, raw if isinstance(raw, dict) else {})
        # resolved once: each response with its $refs inlined, and its declared headers' static values
        self._resolved = {code: deref(response, self.document, recursive={}) for code, response in self.responses.items()}
        self._static_headers = {code: self._headers(response.get("headers"), None)
                                for code, response in self._resolved.items()}
        self.steps = (self.parse, self.authorize, self.validate, self.read_prefer, self.respond)
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

    def authorize(self, ctx: RequestContext) -> Outcome | None:
        """Prism's security check: the credential an alternative needs is there (its value is not judged)."""
        if not self.security:
            return None
        check = Check.of(self.security, ctx.incoming.headers, parse_qsl(ctx.incoming.query, keep_blank_values=True))
        ctx.secrets = (*ctx.secrets, *check.secrets)
        if check.met:
            return None
        ctx.validation = {"valid": False, "errors": {"security": [check.detail]}}
        code = "401" if "401" in self.responses else ("4XX" if "4XX" in self.responses else None)
        if code is not None:
            outcome = self._render(code, 401, ctx)
            outcome.variant = "error"
        else:
            outcome = self._problem(401, errors.problem(401, "Invalid security scheme used", check.detail))
        if check.challenges:
            outcome.headers["WWW-Authenticate"] = ", ".join(check.challenges)
        return outcome

    def validate(self, ctx: RequestContext) -> Outcome | None:
        from openapi_core.testing import MockRequest

        incoming = ctx.incoming
        request = MockRequest(
            self.host, self.op.method.lower(), incoming.path.split("?", 1)[0],  # HEAD is served as its GET
            args=parse_qsl(incoming.query, keep_blank_values=True), view_args=dict(incoming.path_params),
            headers=dict(incoming.headers), data=incoming.body or None,
            content_type=incoming.content_type or "",
        )
        try:
            with warnings.catch_warnings():  # "Unsupported scheme type" (oauth2): security is authorize's
                warnings.simplefilter("ignore", UserWarning)
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
        return self._render(code, status, ctx)

    def _render(self, code: str, status: int, ctx: RequestContext) -> Outcome:
        """The answer of response ``code`` with HTTP ``status``: its body and its declared headers."""
        prefer = ctx.prefer
        response = self._resolved[code]
        media_type, media = _json_media(response.get("content") or {})
        headers = self._headers(response.get("headers"), prefer) if prefer.dynamic else dict(self._static_headers[code])
        if media_type:
            headers["Content-Type"] = media_type
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

    def _headers(self, declared: Any, prefer: Any) -> dict[str, str]:
        """A value for every header the response declares (not Content-Type/Length, which are the body's)."""
        found: dict[str, str] = {}
        if not isinstance(declared, dict):
            return found
        for name, header in declared.items():
            if not isinstance(header, dict) or str(name).lower() in ("content-type", "content-length"):
                continue
            value = _header_example(header)
            if value is _NONE or (prefer is not None and prefer.dynamic):
                schema = header.get("schema") if isinstance(header.get("schema"), dict) else {}
                seed = self._static_seed ^ int(hashlib.sha256(str(name).encode()).hexdigest()[:8], 16)
                if prefer is not None and prefer.dynamic:
                    seed ^= prefer.seed if prefer.seed is not None else self.services.rng.draw(
                        lambda r: r.getrandbits(32))
                value = sample(schema, random.Random(seed))
            text = _header_text(value)
            if text is not None:
                found[str(name)] = text
        return found

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
