"""Which spec route a recorded path is, and what it does (generate, fetch, other).

The recorder and the drift report both read traffic that was not sent through the mock, so they
route it themselves: the spec's POST paths under its server's base path, static paths before
templated ones, each with the behaviour its ``x-mock-behaviour`` declares (or, for a spec without
the extension, guessed from its path: ``.../fetch...`` fetches, anything else generates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contracts.core.spec import deref

__all__ = ["Route", "find_route", "routes_from_spec"]


@dataclass(frozen=True)
class Route:
    """One API route as the proxy sees it: which kind of call it is, and where a fetch's id is."""

    regex: re.Pattern[str]
    kind: str  # generate | fetch | other
    operation: str
    family: str | None = None
    id_in: str | None = None  # path | body
    id_name: str | None = None


def _base_path(document: dict[str, Any]) -> str:
    for server in document.get("servers", []):
        url = str(server.get("url", ""))
        if url.startswith("/"):
            return url.rstrip("/")
    for server in document.get("servers", []):
        path = urlsplit(str(server.get("url", ""))).path
        if path:
            return path.rstrip("/")
    return ""


def routes_from_spec(document: dict[str, Any]) -> list[Route]:
    """Every POST route of the spec with its behaviour (from ``x-mock-behaviour``, else by its name)."""
    base = _base_path(document)
    found = []
    for path, item in (document.get("paths") or {}).items():
        for method, raw in item.items():
            if method.lower() != "post" or not isinstance(raw, dict):
                continue
            op = deref(raw, document)
            behaviour = op.get("x-mock-behaviour") or {}
            kind = behaviour.get("kind") if isinstance(behaviour, dict) else None
            if kind is None:
                kind = "fetch" if "fetch" in path else "generate"
            ident = behaviour.get("id") if isinstance(behaviour, dict) else None
            if not isinstance(ident, dict):
                ident = {"in": "path", "name": "id"} if "{id}" in path else {"in": "body", "name": "request_id"}
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(base + path))
            family = behaviour.get("family") if isinstance(behaviour, dict) else None
            found.append(Route(re.compile(f"^{pattern}/?$"), kind, op.get("operationId") or path,
                               family, ident.get("in"), ident.get("name")))
    # static routes first, so /fetch is not read as /fetch/{id} and the other way round
    found.sort(key=lambda r: r.regex.pattern.count("(?P<"))
    return found




def find_route(routes: list[Route], path: str) -> tuple[Route | None, dict[str, str]]:
    """The first route whose pattern matches ``path`` (query string ignored), with its path parameters."""
    path = path.split("?", 1)[0]
    for route in routes:
        found = route.regex.match(path)
        if found:
            return route, found.groupdict()
    return None, {}
