"""Spec lint: every example in a spec (and example files beside it) checked against its schema.

The ModelsLab documentation's own inpaint example sends ``"width": "512"`` and
``"negative_prompt": null`` to a schema that says integer and string. Such contradictions
mislead every reader and every generator, so the lint finds them all and names each with JSON
pointers: where the offending value is, and which schema rule it breaks.

Checked: ``example`` / ``examples`` of media types (request bodies and responses, also through
``$ref``), of parameters and of any schema or sub-schema, schema ``default`` values, and extra
JSON files validated against an operation's request body (``--example FILE[:OPERATION]``). The
request bodies ModelsLab's pages show (openapi/examples/, ``DOCS_EXAMPLES``) are included by
default for every endpoint the spec serves (its server's path plus the operation's path).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from contracts.core.schema_validation import json_pointer, problems, schema_for_pointer
from contracts.core.spec import DOCS_EXAMPLES, load_document, spec_dir, spec_path

__all__ = ["Contradiction", "LintReport", "lint_spec"]

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SUBSCHEMA_LISTS = ("oneOf", "anyOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "not", "additionalProperties", "contains", "if", "then", "else")


@dataclass(frozen=True)
class Contradiction:
    """An example (or default) that its own schema rejects."""

    source: str
    pointer: str
    message: str
    schema_pointer: str
    kind: str = "example"

    def __str__(self) -> str:
        return f"{self.source}#{self.pointer}: {self.message}  (schema {self.schema_pointer}, {self.kind})"


@dataclass
class LintReport:
    spec: str
    checked: int
    contradictions: list[Contradiction]

    @property
    def ok(self) -> bool:
        return not self.contradictions

    def text(self) -> str:
        lines = [str(c) for c in self.contradictions]
        lines.append(f"{len(self.contradictions)} contradiction(s) in {self.checked} example(s) and default(s) "
                     f"checked ({self.spec})")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"spec": self.spec, "checked": self.checked,
                           "contradictions": [asdict(c) for c in self.contradictions]}, indent=2, ensure_ascii=False)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _origin(schema: Any, location: str) -> str:
    """Where a schema's rules live: the target of a bare ``$ref``, else where it is written."""
    if isinstance(schema, dict) and set(schema) <= {"$ref", "description", "summary"} and "$ref" in schema:
        return schema["$ref"]
    return "#" + location


class _Walker:
    def __init__(self, document: dict[str, Any], source: str):
        self.document = document
        self.source = source
        self.version = str(document.get("openapi", "3.1"))
        self.found: list[Contradiction] = []
        self.checked = 0
        self._seen: set[tuple[str, str]] = set()

    def validate(self, value: Any, schema: Any, value_pointer: str, schema_location: str, kind: str,
                 source: str | None = None) -> None:
        if not isinstance(schema, dict) or (source is None and (value_pointer, kind) in self._seen):
            return
        self._seen.add((value_pointer, kind))
        self.checked += 1
        origin = _origin(schema, schema_location)
        for problem in problems(value, schema, document=self.document, schema_origin=origin,
                                openapi_version=self.version, base_pointer=value_pointer):
            self.found.append(Contradiction(source or self.source, problem.pointer, problem.message,
                                            problem.schema_pointer, kind))

    def resolve(self, node: Any, location: str) -> tuple[Any, str]:
        """Follow a ``$ref`` (to components) and say where the node really is."""
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            location = node["$ref"][1:]
            node = schema_for_pointer(self.document, node["$ref"])
            hops += 1
            if hops > 20:
                break
        return node, location

    # -- media types, parameters ---------------------------------------------------------------

    def media(self, media: dict[str, Any], location: str) -> None:
        schema = media.get("schema")
        schema_location = location + "/schema"
        if schema is not None:
            self.schema(schema, schema_location)
        if "example" in media:
            self.validate(media["example"], schema, location + "/example", schema_location, "example")
        for name, example in (media.get("examples") or {}).items():
            example, where = self.resolve(example, f"{location}/examples/{json_pointer([name])[1:]}")
            if isinstance(example, dict) and "value" in example:
                self.validate(example["value"], schema, where + "/value", schema_location, "example")

    def parameter(self, parameter: Any, location: str) -> None:
        parameter, location = self.resolve(parameter, location)
        if not isinstance(parameter, dict):
            return
        schema = parameter.get("schema")
        if schema is not None:
            self.schema(schema, location + "/schema")
        if "example" in parameter:
            self.validate(parameter["example"], schema, location + "/example", location + "/schema", "example")
        for name, example in (parameter.get("examples") or {}).items():
            example, where = self.resolve(example, f"{location}/examples/{json_pointer([name])[1:]}")
            if isinstance(example, dict) and "value" in example:
                self.validate(example["value"], schema, where + "/value", location + "/schema", "example")
        for mt, media in (parameter.get("content") or {}).items():
            self.media(media, f"{location}/content/{json_pointer([mt])[1:]}")

    # -- schemas -------------------------------------------------------------------------------

    def schema(self, schema: Any, location: str) -> None:
        if not isinstance(schema, dict) or "$ref" in schema and len(schema) == 1:
            return
        if "example" in schema:
            self.validate(schema["example"], schema, location + "/example", location, "example")
        if isinstance(schema.get("examples"), list):
            for index, value in enumerate(schema["examples"]):
                self.validate(value, schema, f"{location}/examples/{index}", location, "example")
        if "default" in schema:
            self.validate(schema["default"], schema, location + "/default", location, "default")
        for name, sub in (schema.get("properties") or {}).items():
            self.schema(sub, f"{location}/properties/{json_pointer([name])[1:]}")
        for keyword in _SUBSCHEMA_LISTS:
            for index, sub in enumerate(schema.get(keyword) or []):
                self.schema(sub, f"{location}/{keyword}/{index}")
        for keyword in _SUBSCHEMA_ONE:
            if isinstance(schema.get(keyword), dict):
                self.schema(schema[keyword], f"{location}/{keyword}")

    # -- the document --------------------------------------------------------------------------

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in (self.document.get("paths") or {}).items():
            for method in _HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    yield path, method, item[method]

    def run(self) -> None:
        for name, schema in ((self.document.get("components") or {}).get("schemas") or {}).items():
            self.schema(schema, f"/components/schemas/{json_pointer([name])[1:]}")
        for path, method, op in self.operations():
            base = f"/paths/{json_pointer([path])[1:]}/{method}"
            for index, parameter in enumerate(op.get("parameters") or []):
                self.parameter(parameter, f"{base}/parameters/{index}")
            body, body_location = self.resolve(op.get("requestBody"), base + "/requestBody")
            for mt, media in ((body or {}).get("content") or {}).items():
                self.media(media, f"{body_location}/content/{json_pointer([mt])[1:]}")
            for code, response in (op.get("responses") or {}).items():
                response, where = self.resolve(response, f"{base}/responses/{code}")
                for mt, media in ((response or {}).get("content") or {}).items():
                    self.media(media, f"{where}/content/{json_pointer([mt])[1:]}")

    def request_schema(self, operation: str) -> tuple[dict[str, Any], str]:
        """The JSON request body schema of an operation named by operationId or path."""
        for path, method, op in self.operations():
            if operation in (op.get("operationId"), path, f"{method.upper()} {path}", path.lstrip("/")):
                body, location = self.resolve(op.get("requestBody"), f"/paths/{json_pointer([path])[1:]}/{method}/requestBody")
                media = ((body or {}).get("content") or {}).get("application/json")
                if media and "schema" in media:
                    return media["schema"], location + "/content/application~1json/schema"
                raise ValueError(f"operation {operation!r} has no application/json request body")
        names = [op.get("operationId") or f"{m.upper()} {p}" for p, m, op in self.operations()]
        raise ValueError(f"no operation {operation!r} in the spec; known: {', '.join(names)}")


def _docs_examples(document: dict[str, Any]) -> list[str]:
    """``FILE:OPERATION`` for each docs example sent to an endpoint this spec serves."""
    from contracts.core.routes import find_route, routes_from_spec

    routes = routes_from_spec(document)
    found = []
    for name, endpoint in DOCS_EXAMPLES.items():
        route, _params = find_route(routes, endpoint)
        file = spec_dir() / name
        if route is not None and file.is_file():
            found.append(f"{file}:{route.operation}")
    return found


def lint_spec(spec: str, examples: list[str] | tuple[str, ...] = (), docs_example: bool | None = None,
              default_operation: str = "/inpaint", cassettes: list[str] | tuple[str, ...] = ()) -> LintReport:
    """Lint a spec file; ``examples`` are ``FILE`` or ``FILE:OPERATION`` (default ``/inpaint``).

    ``docs_example`` (unless False) includes the docs' example bodies of the endpoints the spec serves.
    ``cassettes`` are folders written by ``mockserver record``: each request the real service
    accepted (answered success or processing) must be valid for its route, or the spec is wrong.
    """
    path = spec_path(spec)
    document = load_document(str(path))
    walker = _Walker(document, _display(path))
    walker.run()
    files = list(examples)
    if docs_example is not False:
        files[:0] = [item for item in _docs_examples(document) if item.rpartition(":")[0] not in files]
    for item in files:
        file_name, operation = item, ""
        if not Path(item).is_file() and ":" in item:
            file_name, _, operation = item.rpartition(":")
        file_path = Path(file_name)
        try:
            value = json.loads(file_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read example {file_name}: {exc}") from None
        schema, location = walker.request_schema(operation or default_operation)
        walker.validate(value, schema, "", location, "example file", source=_display(file_path))
    for folder in cassettes:
        _lint_cassette(walker, document, Path(folder))
    return LintReport(_display(path), walker.checked, walker.found)


def _lint_cassette(walker: "_Walker", document: dict[str, Any], folder: Path) -> None:
    """Recorded requests the real service accepted, each against its route's request schema."""
    from contracts.core.episodes import Cassette
    from contracts.core.routes import find_route, routes_from_spec

    routes = routes_from_spec(document)
    for episode in Cassette(folder).episodes():
        word = episode.submit.body.get("status") if isinstance(episode.submit.body, dict) else None
        if word not in ("success", "processing") or not isinstance(episode.submit.request_body, dict):
            continue  # a request the service refused says nothing against the spec
        route, _params = find_route(routes, episode.endpoint)
        if route is None:
            continue
        schema, location = walker.request_schema(route.operation)
        walker.validate(episode.submit.request_body, schema, "", location, "recorded request",
                        source=_display(folder / "episodes" / f"{episode.id}.json"))
