"""What each operation of a spec does, as its ``x-mock-behaviour`` extension declares it.

The contracts toolkit (strategies, MLC checks, the packaged suite) finds the operations it knows
how to exercise by what they do, never by their operationId::

    x-mock-behaviour: {kind: generate, family: community, render: inpaint,
                       images: [init_image, mask_image], fetch: v6ImagesFetchById, model: required}
    x-mock-behaviour: {kind: fetch, family: community, id: {in: path, name: id}}

``generate`` creates a job (``family`` groups the jobs a fetch may read; ``images`` are the body
fields holding input images; ``fetch`` is the operation ``fetch_result`` links to; ``model`` is
``required`` or ``none``); ``fetch`` reads a job of its family by an id in the path or the body.
An operation without the extension (or ``kind: static``) is generic. A spec with no generate or
fetch operation at all is *foreign*: only generic checks apply to it.

This module reads declarations and nothing else (the mock's own registry, which acts on them,
is ``mockserver.behaviours``); a declaration it cannot read is treated as absent here and
reported by the mock when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from contracts.core.spec import SPEC_FILE, Operation, deref, load_document, operations, server_base_path

__all__ = ["EXTENSION", "FetchOp", "GenerateOp", "SpecBehaviours", "spec_behaviours"]

EXTENSION = "x-mock-behaviour"


@dataclass(frozen=True)
class GenerateOp:
    """An operation that creates a job."""

    op: Operation = field(repr=False)
    family: str
    render: str | None = None
    images: tuple[str, ...] = ()
    fetch: str | None = None  # operationId of the fetch its fetch_result names
    model_required: bool = True
    body_schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # dereferenced

    @property
    def operation_id(self) -> str:
        return self.op.operation_id


@dataclass(frozen=True)
class FetchOp:
    """An operation that reads a job of its family by id (``id_in``: path or body)."""

    op: Operation = field(repr=False)
    family: str
    id_in: str = "path"
    id_name: str = "id"
    body_schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def operation_id(self) -> str:
        return self.op.operation_id

    def request(self, job_id: Any, body: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """(path under the base path, body) that fetches ``job_id`` through this operation."""
        payload = dict(body or {})
        if self.id_in == "path":
            return self.op.path.replace("{" + self.id_name + "}", str(job_id)), payload
        payload[self.id_name] = str(job_id)
        return self.op.path, payload


@dataclass(frozen=True)
class SpecBehaviours:
    """Every operation of one spec, with the generate and fetch operations it declares."""

    spec: str
    base_path: str
    operations: dict[str, Operation]
    generate: dict[str, GenerateOp]
    fetch: dict[str, FetchOp]

    @property
    def foreign(self) -> bool:
        """True when the spec declares no generate or fetch operation (only generic checks apply)."""
        return not self.generate and not self.fetch

    def kind(self, operation_id: str) -> str | None:
        if operation_id in self.generate:
            return "generate"
        if operation_id in self.fetch:
            return "fetch"
        return None

    def family(self, operation_id: str) -> str | None:
        found = self.generate.get(operation_id) or self.fetch.get(operation_id)
        return found.family if found is not None else None

    def families(self) -> list[str]:
        return sorted({g.family for g in self.generate.values()} | {f.family for f in self.fetch.values()})

    def fetches_of(self, family: str | None) -> list[FetchOp]:
        """The fetch operations that read jobs of ``family`` (path-id forms first)."""
        found = [f for f in self.fetch.values() if f.family == family]
        return sorted(found, key=lambda f: (f.id_in != "path", f.operation_id))

    def fetch_link(self, family: str | None, generate_id: str | None = None) -> FetchOp | None:
        """The fetch a job's ``fetch_result`` points to: the generate operation's ``fetch``, else the
        family's fetch by path id."""
        generate = self.generate.get(generate_id or "")
        if generate is not None and generate.fetch in self.fetch:
            return self.fetch[generate.fetch]
        for candidate in self.fetches_of(family):
            if candidate.id_in == "path":
                return candidate
        return None

    def operation_for(self, method: str, url: str) -> tuple[str, dict[str, str]]:
        """(operationId, path params) of the operation a request URL names, or ("", {})."""
        path = urlsplit(url).path
        if self.base_path:
            index = path.find(self.base_path + "/")
            if index >= 0:
                path = path[index + len(self.base_path):]
        candidates = sorted(self.operations.values(), key=lambda op: op.path.count("{"))  # static first
        for op in candidates:
            match = op.path_regex.match(path)
            if match and op.method == method.upper():
                return op.operation_id, match.groupdict()
        return "", {}


def _read(raw: Any) -> tuple[str | None, dict[str, Any]]:
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, dict) and isinstance(raw.get("kind"), str):
        return raw["kind"], raw
    return None, {}


@lru_cache(maxsize=16)
def spec_behaviours(spec: str = SPEC_FILE) -> SpecBehaviours:
    """The declared behaviours of a spec (a name in openapi/ or a path), read once per process."""
    document = load_document(spec)
    ops = operations(document)
    generate: dict[str, GenerateOp] = {}
    fetch: dict[str, FetchOp] = {}
    for op_id, op in ops.items():
        kind, settings = _read(op.behaviour)
        family = settings.get("family")
        if not isinstance(family, str):
            family = "default"
        body = deref(op.body_schema or {}, document)
        if kind == "generate":
            images = settings.get("images")
            generate[op_id] = GenerateOp(
                op=op, family=family, render=settings.get("render") if isinstance(settings.get("render"), str) else None,
                images=tuple(i for i in images if isinstance(i, str)) if isinstance(images, list) else (),
                fetch=settings.get("fetch") if isinstance(settings.get("fetch"), str) else None,
                model_required=settings.get("model", "required") != "none", body_schema=body)
        elif kind == "fetch":
            ident = settings.get("id") if isinstance(settings.get("id"), dict) else {}
            id_in = ident.get("in") if ident.get("in") in ("path", "body") else "path"
            id_name = ident.get("name") if isinstance(ident.get("name"), str) else ("id" if id_in == "path" else
                                                                                    "request_id")
            fetch[op_id] = FetchOp(op=op, family=family, id_in=id_in, id_name=id_name, body_schema=body)
    return SpecBehaviours(spec=spec, base_path=server_base_path(document), operations=ops, generate=generate,
                          fetch=fetch)
