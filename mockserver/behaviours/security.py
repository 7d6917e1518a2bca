"""An operation's security requirements, checked as Prism checks them: is the credential there?

OpenAPI lists alternatives (``security: [{a: []}, {b: [], c: []}]``): one of them must be met,
and each needs all of its schemes; ``{}`` is "no credential needed", an operation's own
``security`` (``[]`` included) replaces the document's. A scheme is met by the presence of its
credential, never by its value (a mock has no users): an ``apiKey`` by its header, query
parameter or cookie; ``http`` by ``Authorization: <scheme> <credentials>`` (``Bearer``, ``Basic``,
any other); ``oauth2`` and ``openIdConnect`` by a bearer token. ``mutualTLS`` cannot be seen
from a request: like a scheme the document does not define, it asks for nothing.

Every credential found is a secret: the caller masks it wherever the request is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from contracts.core.spec import deref

__all__ = ["Check", "Scheme", "requirements"]


@dataclass(frozen=True)
class Scheme:
    """One security scheme: where its credential travels and what it is called there."""

    name: str
    where: str  # header | query | cookie | authorization
    key: str  # the header (lower case), parameter or cookie name; for authorization, the scheme word (lower case)
    label: str = ""  # the name as the spec spells it

    def shown(self) -> str:
        if self.where == "authorization":
            return f"Authorization: {self.key.capitalize()} <credentials>"
        return f"{self.where} {(self.label or self.key)!r}"

    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` challenge a client of this scheme understands (None for API keys)."""
        if self.where != "authorization":
            return None
        return 'Basic realm="modelslab-mock"' if self.key == "basic" else self.key.capitalize()


def _scheme(name: str, raw: Any) -> Scheme | None:
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("type")).lower()
    if kind == "apikey":
        where = str(raw.get("in")).lower()
        if where in ("header", "query", "cookie") and isinstance(raw.get("name"), str) and raw["name"]:
            return Scheme(name, where, raw["name"].lower() if where == "header" else raw["name"], raw["name"])
        return None
    if kind == "http":
        word = str(raw.get("scheme") or "").strip().lower()
        return Scheme(name, "authorization", word) if word else None
    if kind in ("oauth2", "openidconnect"):
        return Scheme(name, "authorization", "bearer")
    return None  # mutualTLS, or a type OpenAPI does not have


def requirements(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[list[Scheme]]:
    """The alternatives this operation accepts, each a list of schemes that must all be met;
    ``[]`` when it needs nothing (no requirement, or an empty alternative among them). A scheme
    the document does not define (or cannot be read) is left out rather than made impossible."""
    declared = operation["security"] if "security" in operation else document.get("security")
    if not isinstance(declared, list):
        return []
    components = document.get("components") if isinstance(document.get("components"), dict) else {}
    raw_schemes = components.get("securitySchemes") if isinstance(components.get("securitySchemes"), dict) else {}
    schemes = {name: _scheme(name, deref(raw, document, recursive={})) for name, raw in raw_schemes.items()}
    found: list[list[Scheme]] = []
    for alternative in declared:
        if not isinstance(alternative, dict):
            continue
        needed = [schemes[name] for name in alternative if schemes.get(name) is not None]
        if not needed:
            return []  # {} (or only schemes that cannot be checked): nothing is required
        found.append(needed)
    return found


def _cookies(header: str) -> dict[str, str]:
    found = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            found.setdefault(name, value.strip().strip('"'))
    return found


@dataclass
class Check:
    """The verdict on one request: met or not, what it carried, and what to tell a client that failed."""

    met: bool
    secrets: tuple[str, ...]
    detail: str = ""
    challenges: tuple[str, ...] = ()

    @classmethod
    def of(cls, alternatives: list[list[Scheme]], headers: Mapping[str, str],
           query: Iterable[tuple[str, str]]) -> "Check":
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        params: dict[str, str] = {}
        for name, value in query:
            params.setdefault(name, value)
        cookies = _cookies(lowered.get("cookie", ""))
        word, _, token = lowered.get("authorization", "").strip().partition(" ")
        token = token.strip()

        def credential(scheme: Scheme) -> str | None:
            if scheme.where == "header":
                return lowered.get(scheme.key) or None
            if scheme.where == "query":
                return params.get(scheme.key) or None
            if scheme.where == "cookie":
                return cookies.get(scheme.key) or None
            return token if word.lower() == scheme.key and token else None  # authorization

        every = {s for alternative in alternatives for s in alternative}
        carried = {s: credential(s) for s in every}
        secrets = tuple(sorted({v for v in carried.values() if v}))
        if not alternatives or any(all(carried[s] for s in alternative) for alternative in alternatives):
            return cls(True, secrets)
        options = [" and ".join(s.shown() for s in alternative) for alternative in alternatives]
        detail = "this operation needs credentials: " + (
            options[0] if len(options) == 1 else "one of " + " | ".join(options))
        challenges = tuple(dict.fromkeys(c for s in sorted(every, key=lambda s: s.name)
                                         if (c := s.challenge()) is not None))
        return cls(False, secrets, detail, challenges)
