"""What one API request is while the mock answers it: ``Incoming`` in, a ``RequestContext`` through
the steps, an ``Outcome`` out. Plain data, no web framework and no services."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from mockserver.engine.directives import Directive
from mockserver.state.jobs import Job

__all__ = ["Incoming", "Outcome", "RequestContext", "owner_of"]


def owner_of(key: str) -> str:
    """A stable, non-reversible name for an API key: state is namespaced by it, never by the key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class Incoming:
    """An HTTP request to a spec route, as the web adapter hands it over."""

    operation: str  # the operationId of the route (or "METHOD /path" when the spec gives none)
    body: bytes
    content_type: str | None
    base_url: str
    prefer: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str = ""  # path and query string, for the journal
    headers: dict[str, str] = field(default_factory=dict)  # redacted before the journal sees them
    query: str = ""  # the raw query string (validated by the generic behaviour)


@dataclass
class Outcome:
    status: int
    body: Any  # JSON-able data, or bytes sent as they are (gateway pages, output files)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    variant: str = "error"
    owner: str | None = None
    job_id: int | None = None
    validation_errors: dict[str, list[str]] | None = None
    parsed: dict[str, Any] | None = None
    fault: str | None = None  # a fault the HTTP layer acts on: reset, truncated (gateway pages are in body)
    delay: float = 0.0  # seconds the engine waited before answering
    rule: str | None = None  # id of the scenario rule that answered


@dataclass
class RequestContext:
    """One request on its way through the steps; each step reads what earlier ones found.

    The journal entry is written from it at the end, whatever step answered.
    """

    incoming: Incoming
    started: float = field(default_factory=time.perf_counter)
    raw: Any = None  # the body as parsed (or the bytes when they did not parse)
    body: dict[str, Any] | None = None  # the body the behaviour acts on (normalised in compat mode)
    key: str | None = None
    owner: str | None = None
    prefer: Directive = field(default_factory=Directive)
    warnings: list[str] = field(default_factory=list)
    validation: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)  # scenario rules this request matches
    next_rule: int = 0
    rule: dict[str, Any] | None = None
    late_fault: str | None = None
    track_id: Any = None
    job_id: int | None = None
    unsaved_job: Job | None = None  # a new job, written with the journal entry in one go
    reason: str | None = None  # what chose the answer: prefer, rule:<id>, key or ratio (journal "reason")
    secrets: tuple[str, ...] = ()  # other keys the request carried (headers): masked in the journal too
