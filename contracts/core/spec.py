"""Find, load and index the contract once per process.

Everything that reads the spec (the mock's routes and validators, the strategies, the checks,
the lint) goes through here, so there is one parsed document and one openapi-core ``OpenAPI``
object per spec file, and the openapi/ folder is found both in a source checkout and in an
installed wheel.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DOCS_EXAMPLE_FILE",
    "DOCS_EXAMPLES",
    "first_server_url",
    "PONY_SPEC_FILE",
    "SPEC_FILE",
    "UPSTREAM_FILE",
    "Operation",
    "deref",
    "docs_example_bytes",
    "load_document",
    "load_openapi",
    "operations",
    "relative_base_path",
    "server_base_path",
    "spec_dir",
    "spec_path",
]

SPEC_FILE = "modelslab.yaml"
#: The first spec: the Pony inpaint page's three operations (inpaint, fetchById, fetchByRequestId).
PONY_SPEC_FILE = "modelslab-pony-inpaint.yaml"
UPSTREAM_FILE = "upstream-pony-inpaint.yaml"
DOCS_EXAMPLE_FILE = "examples/pony-inpaint-docs-example.json"
#: The request bodies ModelsLab's pages show (openapi/examples/), each with the endpoint it is sent to:
#: `contracts lint` checks those of the endpoints a spec serves.
DOCS_EXAMPLES = {
    DOCS_EXAMPLE_FILE: "/api/v6/images/inpaint",
    "examples/community-inpaint-docs-example.json": "/api/v6/images/inpaint",
    "examples/community-text2img-docs-example.json": "/api/v6/images/text2img",
    "examples/community-img2img-docs-example.json": "/api/v6/images/img2img",
    "examples/realtime-text2img-docs-example.json": "/api/v6/realtime/text2img",
}

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_dir() -> Path:
    """The openapi/ folder: packaged in ``contracts/`` in a wheel, at the repo root in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "openapi", here.parents[1] / "openapi"):
        if (candidate / SPEC_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"cannot find openapi/{SPEC_FILE} near {here}")


def spec_path(name: str = SPEC_FILE) -> Path:
    """Path of a file in openapi/ (a bare name), or the path itself when it names a file."""
    path = Path(name)
    if path.is_file():
        return path.resolve()
    return spec_dir() / name


@lru_cache(maxsize=8)
def _load_document(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C loader when built


def load_document(name: str = SPEC_FILE) -> dict[str, Any]:
    """The spec as plain data (a fresh deep copy, so callers may not corrupt the cache)."""
    return copy.deepcopy(_load_document(str(spec_path(name))))


@lru_cache(maxsize=8)
def _load_openapi(path: str):
    from openapi_core import Config, OpenAPI  # imported here: lint and strategies do not need it

    from contracts.core.formats import format_validators

    # ``uri`` checked in linear time (a 30 MB data URI took seconds with jsonschema's own check)
    return OpenAPI.from_dict(_load_document(path), config=Config(extra_format_validators=format_validators()))


def load_openapi(name: str = SPEC_FILE):
    """The openapi-core ``OpenAPI`` object for a spec, validated once and shared by the process."""
    return _load_openapi(str(spec_path(name)))


def docs_example_bytes() -> bytes:
    """The documentation page's example body for Pony inpaint, byte for byte."""
    return (spec_dir() / DOCS_EXAMPLE_FILE).read_bytes()


_RAISE = object()


def deref(node: Any, document: dict[str, Any], _seen: tuple[str, ...] = (), recursive: Any = _RAISE) -> Any:
    """Inline every local ``$ref``. A recursive one raises ``ValueError`` (the contract has none),
    or, when ``recursive`` is given, is replaced by that value (``{}``: any value) where it recurs."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in _seen:
                if recursive is _RAISE:
                    raise ValueError(f"recursive $ref {ref}")
                return recursive
            target: Any = document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = {k: v for k, v in node.items() if k != "$ref"}
            resolved = deref(target, document, _seen + (ref,), recursive)
            return {**resolved, **deref(merged, document, _seen, recursive)} if merged else resolved
        return {k: deref(v, document, _seen, recursive) for k, v in node.items()}
    if isinstance(node, list):
        return [deref(v, document, _seen, recursive) for v in node]
    return node


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, with everything needed to route and validate it."""

    operation_id: str
    method: str
    path: str
    body_schema: dict[str, Any] | None
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: dict[str, Any] = field(default_factory=dict)
    #: The operation's ``x-mock-behaviour`` extension as written (None when absent: served generically).
    behaviour: Any = None
    #: Every parameter (path, query, header, cookie) with its schema, as the spec declares them.
    parameters: tuple[dict[str, Any], ...] = ()
    #: Whether the spec requires a request body (``requestBody.required``).
    body_required: bool = False

    @property
    def path_regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{pattern}$")

    def flask_rule(self, base_path: str) -> str:
        return base_path + re.sub(r"\{(\w+)\}", r"<\1>", self.path)


def operations(document: dict[str, Any]) -> dict[str, Operation]:
    """Every operation in a spec document by operationId (method + path when it has none)."""
    found: dict[str, Operation] = {}
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict) or not str(path).startswith("/"):
            continue  # an x- extension of the paths object
        for method in _HTTP_METHODS:
            raw = item.get(method)
            if not isinstance(raw, dict):
                continue
            op = deref(raw, document, recursive={})
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            declared = {(p.get("in"), p.get("name")): p
                        for p in deref(item.get("parameters", []), document, recursive={}) + op.get("parameters", [])
                        if isinstance(p, dict)}  # the operation's own win over the path item's
            params = {name: p.get("schema", {}) for (where, name), p in declared.items() if where == "path"}
            op_id = op.get("operationId") or f"{method} {path}"
            found[op_id] = Operation(
                operation_id=op_id,
                method=method.upper(),
                path=path,
                body_schema=body.get("schema"),
                path_params=params,
                responses=op.get("responses", {}),
                behaviour=raw.get("x-mock-behaviour"),
                parameters=tuple(declared.values()),
                body_required=bool(op.get("requestBody", {}).get("required", False)),
            )
    return found


def relative_base_path(document: dict[str, Any]) -> str:
    """The base path the mock serves under: the spec's relative server entry (``/api/v6/images``)."""
    for server in document.get("servers", []):
        url = server.get("url", "")
        if url.startswith("/"):
            return url.rstrip("/")
    raise ValueError("the spec has no relative server entry for the local mock")


def first_server_url(document: dict[str, Any]) -> str:
    """The URL of a spec's first server with its variables at their defaults ("" when there is none)."""
    servers = document.get("servers") or []
    first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
    url = str(first.get("url") or "")
    for name, variable in (first.get("variables") or {}).items():
        if isinstance(variable, dict):
            url = url.replace("{" + str(name) + "}", str(variable.get("default", "")))
    return url


def server_base_path(document: dict[str, Any]) -> str:
    """The path a mock serves a spec under: that of its first server URL, absolute or relative
    (``https://host/api/v6/images`` and ``/api/v6/images`` both give ``/api/v6/images``; no server,
    or ``/``, gives ``""``). Server variables take their defaults."""
    from urllib.parse import urlsplit

    url = first_server_url(document) or "/"
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    path = "/" + path.strip("/") if path.strip("/") else ""
    return path
