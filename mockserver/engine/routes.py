"""The spec's routes, compiled once: which operation a method and path are, and its path parameters.

Every operation of the spec is a route under the spec's base path (its first server's path).
Paths without templates are looked up in a dict; templated ones are tried in order, a static
segment before a templated one at the first place they differ (``/pets/mine`` before
``/pets/{id}``, ``/fetch/{id}`` before ``/{kind}/{id}``). A template segment matches any
non-empty text without ``/`` (``{id}``, ``{name}.png``): what a parameter may be is the spec's
schema, checked by the behaviour's validation, not by routing. The path is matched first, then
the method: ``DELETE /pets/mine`` is a 405 (allowing ``/pets/mine``'s methods) even when
``/pets/{id}`` has a DELETE, as OpenAPI matches paths.

Operations named ``lenient`` are matched as a Laravel router matches them (the ModelsLab family):
one trailing slash is accepted, and a templated last segment may be empty (``/fetch/``: the
official CLI sends it after an error, and the behaviour answers "Request not found").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Collection, Mapping

from contracts.core.spec import Operation

__all__ = ["Match", "RouteTable"]

_PARAM = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Match:
    """The answer for one request line: the operation (None if the method is not allowed or no
    route matched), its path parameters, and the methods the path allows (empty: no route)."""

    operation: str | None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()


@dataclass
class _Template:
    path: str
    regex: re.Pattern[str]
    methods: dict[str, tuple[str, tuple[str, ...]]]  # METHOD -> (operation, its parameter names in order)


def _shape(path: str) -> tuple[tuple[int, str], ...]:
    """Sort key: per segment, static (0) before templated (1); then the text, for a stable order."""
    return tuple((1 if "{" in seg else 0, seg) for seg in path.strip("/").split("/"))


def _compile(path: str, lenient: bool) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    pattern = ""
    last = 0
    for found in _PARAM.finditer(path):
        pattern += re.escape(path[last:found.start()])
        names.append(found.group(1))
        whole_last = lenient and found.end() == len(path) and path[found.start() - 1:found.start()] == "/"
        pattern += f"(?P<p{len(names) - 1}>[^/]{'*' if whole_last else '+'})"
        last = found.end()
    pattern += re.escape(path[last:])
    return re.compile(pattern + (r"/?\Z" if lenient else r"\Z")), tuple(names)


class RouteTable:
    """Routes for every operation of a spec, served under ``base_path``."""

    def __init__(self, operations: Mapping[str, Operation], base_path: str, lenient: Collection[str] = ()):
        self.base_path = base_path
        self.static: dict[str, dict[str, str]] = {}
        self._slashed: dict[str, dict[str, str]] = {}  # lenient static paths with one trailing slash
        templates: dict[str, _Template] = {}
        for op_id, op in operations.items():
            full = base_path + op.path
            if "{" not in op.path:
                self.static.setdefault(full, {})[op.method.upper()] = op_id
                if op_id in lenient and not full.endswith("/"):
                    self._slashed.setdefault(full + "/", {})[op.method.upper()] = op_id
                continue
            # one template per shape: /a/{x} and /a/{y} are the same route to OpenAPI
            shape = _PARAM.sub("{}", full)
            regex, names = _compile(full, op_id in lenient)
            if shape not in templates or op_id in lenient:
                templates[shape] = _Template(full, regex, templates[shape].methods if shape in templates else {})
            templates[shape].methods[op.method.upper()] = (op_id, names)
        self.templated = sorted(templates.values(), key=lambda t: _shape(t.path))
        self.paths = sorted([*self.static, *(t.path for t in self.templated)])

    def match(self, method: str, path: str) -> Match:
        """The path first, as OpenAPI matches it (a concrete path before a templated one, then the
        first template in order), then the method among that path's operations."""
        method = method.upper()
        methods = self.static.get(path)
        if methods is None and path in self._slashed:
            methods = self._slashed[path]
        if methods is not None:
            return Match(methods.get(method), {}, tuple(methods))
        for template in self.templated:
            found = template.regex.match(path)
            if found is None:
                continue
            if method not in template.methods:
                return Match(None, {}, tuple(template.methods))
            op_id, names = template.methods[method]
            params = {name: found.group(f"p{i}") for i, name in enumerate(names)}
            return Match(op_id, params, tuple(template.methods))
        return Match(None, {}, ())

    def routes(self) -> list[tuple[str, str, str]]:
        """(METHOD, path, operation) of every route, in matching order."""
        found = [(m, p, op) for p, methods in sorted(self.static.items()) for m, op in methods.items()]
        found += [(m, t.path, op) for t in self.templated for m, (op, _) in t.methods.items()]
        return found
