"""The one way through the mock for an API request, free of any web framework and of any operation.

``Engine.handle`` takes an ``Incoming`` (the web adapter found its operation), runs the steps of
that operation's behaviour (mockserver/behaviours/: the ModelsLab family parses, authenticates
the body key, reads the directive, normalises, lets faults and rules act, validates and then
generates or fetches; the generic behaviour validates with openapi-core and answers from the
spec's examples), applies the behaviour's finishing touches (faults on the way back, delay),
optionally checks the answer against the spec, writes the journal entry and waits out the delay.
Engine code never names an operation: what an operation does is declared in the spec
(``x-mock-behaviour``) and built by ``mockserver.behaviours.registry``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from contracts.core.redact import redact, redact_path, unowned_segments
from mockserver.engine.context import Incoming, Outcome, RequestContext, owner_of
from mockserver.engine.steps import Route, run
from mockserver.state.journal import Journal, limit, mask_values, scrub_text
from mockserver.state.store import Store

__all__ = ["Engine", "Incoming", "Outcome", "RequestContext", "owner_of"]

_RESPONSE_SUMMARY = ("status", "id", "eta", "message", "nsfw_content_detected", "webhook_status")


class Engine:
    """Answers API requests: each operation's steps, then the journal, then the delay."""

    def __init__(self, routes: Mapping[str, Route], journal: Journal, store: Store,
                 response_validators: Mapping[str, Any] | None = None):
        self.routes = routes
        self.journal = journal
        self.store = store
        self.sleep: Callable[[float], None] = time.sleep
        self._response_validators = dict(response_validators or {})

    def handle(self, incoming: Incoming) -> Outcome:
        ctx = RequestContext(incoming)
        route = self.routes[incoming.operation]
        outcome = run(route.steps, ctx)
        self._check_response(incoming.operation, outcome)
        for finish in route.after:
            finish(ctx, outcome)
        try:
            self.record(ctx, outcome, route)
        finally:
            if ctx.unsaved_job is not None:  # no journal (or it failed): the job alone
                self.store.put_job(ctx.unsaved_job)
        if outcome.delay > 0:
            self.sleep(outcome.delay)
        return outcome

    def _check_response(self, operation: str, outcome: Outcome) -> None:
        """In debug mode a body outside the spec is the mock's bug: a 500, never a client error."""
        validator = self._response_validators.get(operation)
        if validator is None or outcome.status != 200 or not isinstance(outcome.body, dict):
            return
        problems = [e.message for e in validator.iter_errors(outcome.body)]
        if problems:
            outcome.status = 500
            outcome.body = {"status": "error", "message": "mock bug: response violates the spec",
                            "problems": problems[:5]}

    def record(self, ctx: RequestContext, outcome: Outcome, route: Route | None = None) -> None:
        """The journal entry of one request (key redacted and masked wherever it was echoed)."""
        if not self.journal.enabled:
            return
        incoming = ctx.incoming
        secrets = ([ctx.key] if ctx.key else []) + list(ctx.secrets)
        path = incoming.path
        unowned = outcome.status == 404 and not ctx.owner  # as the console line: a key may be in the URL
        if unowned:
            secrets += unowned_segments(path)  # masked where the answer echoed them too
        if unowned or "?" in path:
            path = redact_path(path, unowned=unowned)  # the secrets themselves: masked below, as everywhere
        raw = ctx.raw
        if isinstance(raw, (bytes, bytearray)):
            raw = scrub_text(bytes(raw[:4096]).decode("utf-8", "replace"))
        response = outcome.body
        if isinstance(response, (bytes, bytearray)):
            media = outcome.headers.get("Content-Type", "")
            response = {"content_type": media, "bytes": len(response)}
        elif isinstance(response, dict):  # a summary: the whole body is one fetch away
            response = {name: response[name] for name in _RESPONSE_SUMMARY if name in response}
        track_id = ctx.track_id
        if track_id is None and route is not None:
            track_id = route.track_id(outcome.parsed if isinstance(outcome.parsed, dict) else ctx.raw)
            if track_id is not None and not isinstance(track_id, str):  # compat reads 123 as "123"
                track_id = limit(str(track_id))
        entry = {
            "owner": ctx.owner,
            "method": incoming.method,
            "path": limit(path),
            "operation": incoming.operation,
            "headers": limit(redact(incoming.headers)),
            "body": limit(redact(raw)),
            "validation": ctx.validation,
            "warnings": limit([scrub_text(w) for w in outcome.warnings]),
            "variant": outcome.variant,
            "status": outcome.status,
            "response": limit(response),
            "job_id": outcome.job_id if outcome.job_id is not None else ctx.job_id,
            "track_id": track_id,
            "rule": outcome.rule,
            "reason": ctx.reason,
            "fault": outcome.fault,
            "delay": outcome.delay,
            "time": time.time(),
            "duration_ms": round((time.perf_counter() - ctx.started) * 1000.0, 3),
        }
        if secrets:  # the key echoed where no field name marks it secret (a prompt, a URL, a header)
            free = {name: entry[name] for name in ("path", "headers", "body", "warnings", "response", "track_id")}
            entry.update(mask_values(free, secrets))
        if ctx.unsaved_job is None:
            self.journal.record(entry)
        else:
            self.journal.record_with_job(ctx.unsaved_job, entry)
            ctx.unsaved_job = None
