"""The one way through the mock for an API request, free of any web framework.

parse -> authenticate (the body's ``key``, else a ``key`` header, else ``Authorization: Bearer``)
-> the behaviour's preflight (e.g. a fetch id that cannot be a job) -> normalise (compat) -> faults
and error rules (a gateway in front of the service) -> validate -> read the valid body as the
service does (canonical: 7.0 as 7, flags as yes/no, clamps) -> check init/mask images (cheaply)
-> choose the variant -> build the body
-> (optionally) check the body against the spec -> faults on the way back, delay -> journal.
Each step either passes the request on or ends it with the real service's error body. The
Flask layer only turns HTTP into an ``Incoming`` and an ``Outcome`` back into HTTP, so the same
engine can sit behind any server. Jobs with a ``webhook`` are handed to the webhook dispatcher;
output files are rendered by ``Artefacts`` on their first GET (``output_file``).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from contracts.core.sample import sample
from contracts.core.spec import Operation, operations, server_base_path
from mockserver.behaviours import bodies
from mockserver.behaviours.registry import Behaviour, OperationNames, behaviours_for
from mockserver.engine import errors
from mockserver.control import faults
from mockserver.images.artefacts import OUTPUT_NAME, Artefacts
from mockserver.state.clock import Clock
from mockserver.config import MockConfig
from mockserver.state.jobs import Job
from contracts.core.redact import redact
from mockserver.state.journal import Journal, limit, mask_values, scrub_text
from mockserver.control.latency import LatencyPlan, parse_spec
from mockserver.images.netpolicy import NetPolicy
from mockserver.engine.normalise import Normaliser
from mockserver.engine.parsing import BodyError, is_json_content_type, parse_object
from mockserver.control.rules import RuleBook, is_gate
from mockserver.state.store import Store
from mockserver.engine.validation import OperationValidator
from mockserver.engine.directives import Directive, DirectiveError, parse_prefer
from mockserver.engine.variants import Choice, SeededRandom, VariantChooser
from mockserver.control.webhooks import WebhookDispatcher

__all__ = ["Engine", "Incoming", "Outcome", "owner_of"]

_CODE_ERRORS: dict[int, Callable[[], errors.ApiError]] = {
    400: errors.invalid_request,
    401: errors.invalid_api_key,
    404: errors.model_not_found,
    422: lambda: errors.field_errors({"prompt": ["The prompt field is required."]}),
    429: errors.rate_limited,
    500: errors.server_error,
}
_RESPONSE_SUMMARY = ("status", "id", "eta", "message", "nsfw_content_detected", "webhook_status")
#: What the spec's ``\S`` (an ECMA-262 regex, as the validator reads it) calls blank; Python's
#: ``str.strip()`` also strips \x1c-\x1f and \x85, which made spec-valid keys "Invalid Api Key".
_SPEC_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"


def owner_of(key: str) -> str:
    """A stable, non-reversible name for an API key: state is namespaced by it, never by the key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class Incoming:
    operation: str
    body: bytes
    content_type: str | None
    base_url: str
    prefer: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # for the journal only (redacted there)


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
class _Trace:
    """What the journal needs to know about one request, filled in as the pipeline runs."""

    raw: Any = None
    key: str | None = None
    owner: str | None = None
    prefer: Directive = field(default_factory=Directive)
    validation: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    next_rule: int = 0
    rule: dict[str, Any] | None = None
    late_fault: str | None = None
    track_id: Any = None
    job_id: int | None = None
    unsaved_job: Job | None = None  # a new job, written with the journal entry in one go
    reason: str | None = None  # what chose the answer: prefer, rule:<id>, key or ratio (journal "reason")
    other_keys: tuple[str, ...] = ()  # keys in headers besides the one used: masked in the journal too


def header_keys(headers: dict[str, str]) -> list[str]:
    """The API keys a request carries in headers, in the order they are used: a ``key`` header (the
    official CLI), then ``Authorization: Bearer <key>`` (the JS SDK)."""
    found = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "key" and isinstance(value, str):
            found.insert(0, value)
        elif lowered == "authorization" and isinstance(value, str) and value[:7].lower() == "bearer ":
            found.append(value[7:].strip())
    return found


def _usable_key(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip(_SPEC_SPACE))


def _no_lone_surrogates(body: dict[str, Any]) -> None:
    """A ``\\ud800`` escape with no partner is not text: PHP's json_decode (the real service) refuses
    it, and no JSON encoder could echo it back. Checked only when the body has ``\\u`` escapes."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError("body has an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None


class _Ended(Exception):
    """Internal: a step decided the answer."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


class Engine:
    """Answers API requests for one spec and one configuration."""

    def __init__(self, config: MockConfig, store: Store, document: dict[str, Any], openapi: Any,
                 rng: SeededRandom | None = None, clock: Clock | None = None):
        self.config = config
        self.store = store
        self.document = document
        self.rng = rng or SeededRandom(config.seed)
        self.clock = clock or Clock(store)
        self.chooser = VariantChooser(config, self.rng)
        self.base_path = server_base_path(document)
        self.operations: dict[str, Operation] = operations(document)
        self.behaviours: dict[str, Behaviour] = behaviours_for(self.operations, self.base_path)
        self.validators = {op_id: OperationValidator(openapi, op, self.base_path)
                           for op_id, op in self.operations.items() if op.body_schema}
        self.normalisers = {op_id: Normaliser(op.body_schema, getattr(self.behaviours.get(op_id), "images", None))
                            for op_id, op in self.operations.items() if op.body_schema}
        self._response_schemas = {op_id: op.responses.get("200", {}).get("content", {})
                                  .get("application/json", {}) for op_id, op in self.operations.items()}
        self._response_validators: dict[str, Any] = {}
        if config.validate_responses:
            from openapi_core.validation.schemas import oas31_schema_validators_factory
            for op_id, op in self.operations.items():
                path = openapi.spec / "paths" / op.path / op.method.lower() / "responses" / "200"
                path = path / "content" / "application/json" / "schema"
                self._response_validators[op_id] = oas31_schema_validators_factory.create(openapi.spec, path).validator
        # Issue 3: rules, faults, latency, the journal, images and webhooks.
        self.sleep: Callable[[float], None] = time.sleep
        self.names = OperationNames(self.behaviours)  # what rules and journal filters may call operations
        self.rules = RuleBook(store, owner_of, self.names)
        self.journal = Journal(store, enabled=config.journal, names=self.names)
        self.faults = faults.FaultPlan({
            "rate_limit": config.fault_rate_limit_ratio,
            "outage": config.fault_outage_ratio,
            "reset": config.fault_reset_ratio,
            "truncated": config.fault_truncated_ratio,
        }, self.rng.draw)
        self.latency = LatencyPlan(config.latency, {
            "generate": config.latency_generate or config.latency_inpaint, "fetch": config.latency_fetch,
            "image": config.latency_image,
        }, config.max_delay, self.rng.draw)
        self._webhook_delay = parse_spec(config.webhook_delay, "webhook_delay")
        self.artefacts = Artefacts.from_config(config, store.get_job_by_prefix,
                                               lambda job: job.status(self.clock.now(job.owner)) == "success")
        self.webhook_policy = NetPolicy.for_bind(config.webhook_allow_hosts, config.host)
        self.webhooks = WebhookDispatcher(
            store=store, clock=self.clock, build_body=self._webhook_body, policy=self.webhook_policy,
            timeout=config.webhook_timeout, retries=config.webhook_retries, backoff=config.webhook_backoff,
            workers=config.webhook_workers, queue_size=config.webhook_queue_size,
        )
        self.replay = None  # episodes recorded by `mockserver record` (--replay DIR)
        if config.replay:
            from mockserver.record.replay import ReplayLibrary

            self.replay = ReplayLibrary(config.replay, config.on_miss)
        words = [re.escape(w) for w in config.nsfw_words if w]
        self._nsfw = re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE) if words else None

    # -- the pipeline -------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Outcome:
        started = time.perf_counter()
        trace = _Trace()
        try:
            outcome = self._run(incoming, trace)
        except _Ended as ended:
            outcome = ended.outcome
        self._check_response(incoming.operation, outcome)
        self._finish(incoming, outcome, trace)
        try:
            self._record(incoming, outcome, trace, started)
        finally:
            if trace.unsaved_job is not None:  # no journal (or it failed): the job alone
                self.store.put_job(trace.unsaved_job)
        if outcome.delay > 0:
            self.sleep(outcome.delay)
        return outcome

    def _run(self, incoming: Incoming, trace: _Trace) -> Outcome:
        if not is_json_content_type(incoming.content_type):
            trace.raw = incoming.body
            raise _Ended(self._refuse(trace, errors.invalid_request(), "content type is not application/json"))
        try:
            body = parse_object(incoming.body)
            if b"\\u" in incoming.body:
                _no_lone_surrogates(body)
        except BodyError as exc:
            trace.raw = incoming.body
            raise _Ended(self._refuse(trace, errors.invalid_request(), str(exc)))
        trace.raw = body
        key = body.get("key")
        in_headers = header_keys(incoming.headers) if incoming.headers else []
        if not _usable_key(key):
            key = next((k for k in in_headers if _usable_key(k)), None)
            if key is None:
                raise _Ended(self._refuse(trace, errors.invalid_api_key(), "key is missing or empty"))
        trace.key = key
        trace.other_keys = tuple(k for k in in_headers if k and k != key)
        trace.owner = owner = owner_of(key)
        rule = self.config.key_rule(key)
        if (rule is not None and not rule.valid) or (rule is None and not self.config.accept_any_key):
            raise _Ended(self._refuse(trace, errors.invalid_api_key(), "key is not accepted by the key table"))
        try:
            trace.prefer = prefer = parse_prefer(incoming.prefer)
        except DirectiveError as exc:
            raise _Ended(Outcome(400, {"status": "error", "message": str(exc)}, owner=owner))
        warnings: list[str] = []
        behaviour = self.behaviours[incoming.operation]
        early = behaviour.preflight(self, incoming, owner, warnings)
        if early is not None:
            raise _Ended(early)
        normaliser = self.normalisers.get(incoming.operation)
        if not self.config.strict and normaliser is not None:
            from_header = not _usable_key(body.get("key"))
            body, warnings = normaliser.normalise(body)
            if from_header and "key" in normaliser.rules:  # the body's key is the one the headers gave
                body = {**body, "key": key}
                warnings.append("key: read from the request's key/Authorization header")
        gate = self._gate(incoming, body, owner, prefer, warnings, trace)
        if gate is not None:
            raise _Ended(gate)
        problems = self.validators[incoming.operation].errors(body, incoming.path_params)
        if problems:
            trace.validation = {"valid": False, "errors": problems}
            outcome = self._error(errors.field_errors(problems), warnings, owner)
            outcome.validation_errors = problems
            raise _Ended(outcome)
        trace.validation = {"valid": True}
        if normaliser is not None:
            body, notes = normaliser.canonical(body)
            warnings.extend(notes)
        outcome = behaviour.answer(self, incoming, body, owner, prefer, warnings, trace)
        outcome.parsed = body
        return outcome

    def _refuse(self, trace: _Trace, error: errors.ApiError, reason: str) -> Outcome:
        """A request refused before validation: the reason is a warning and the journal's verdict."""
        trace.validation = {"valid": False, "errors": {"request": [reason]}}
        return self._error(error, [reason])

    def _error(self, error: errors.ApiError, warnings: list[str] | None = None,
               owner: str | None = None, status: int | None = None) -> Outcome:
        return Outcome(
            status if status is not None else error.status(self.config.http_errors),
            error.body,
            dict(error.headers) if (status or self.config.http_errors) and error.headers else {},
            list(warnings or []),
            "error",
            owner,
        )

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

    # -- faults and rules in front of the service ------------------------------------------------

    def _gate(self, incoming: Incoming, body: dict[str, Any], owner: str, prefer: Directive,
              warnings: list[str], trace: _Trace) -> Outcome | None:
        """Prefer's fault, then a rule answering with an error or fault, then a configured fault."""
        if prefer.fault is not None:
            return self._fault(prefer.fault, warnings, owner, trace)
        if prefer.chooses:
            return None  # Prefer chose the answer: rules and random faults stay out of it
        match_body = {**body, **incoming.path_params} if incoming.path_params else body
        trace.candidates = self.rules.candidates(incoming.operation, owner, match_body)
        for index, rule in enumerate(trace.candidates):
            respond = rule["respond"]
            if not is_gate(respond):
                trace.next_rule = index
                break
            if not self.rules.consume(rule):
                continue
            trace.rule = rule
            trace.next_rule = len(trace.candidates)
            if respond.get("fault"):
                return self._fault(respond["fault"], warnings, owner, trace)
            if respond.get("code"):
                return self._error(_CODE_ERRORS[respond["code"]](), warnings, owner, status=respond["code"])
            return self._error(errors.named_error(respond.get("error") or "rate_limit"), warnings, owner)
        else:
            trace.next_rule = len(trace.candidates)
        if self.faults.active and trace.rule is None:
            name = self.faults.sample()
            if name is not None:
                return self._fault(name, warnings, owner, trace)
        return None

    def _fault(self, name: str, warnings: list[str], owner: str, trace: _Trace) -> Outcome | None:
        if name in faults.AFTER:
            trace.late_fault = name
            return None
        if name == "rate_limit":
            outcome = self._error(errors.rate_limited(), warnings, owner)
        else:
            status, page, headers = faults.gateway_page(name)
            outcome = Outcome(status, page, headers, list(warnings), "fault", owner)
        outcome.fault = name
        return outcome

    def _take_rule(self, trace: _Trace) -> dict[str, Any] | None:
        """The first remaining matching rule that is not a gate, used up once (phase two)."""
        while trace.next_rule < len(trace.candidates):
            rule = trace.candidates[trace.next_rule]
            trace.next_rule += 1
            if not is_gate(rule["respond"]) and self.rules.consume(rule):
                trace.rule = rule
                return rule
        return None

    def _finish(self, incoming: Incoming, outcome: Outcome, trace: _Trace) -> None:
        """Faults on the way back, and how long to wait before answering."""
        if trace.late_fault and outcome.fault is None:
            outcome.fault = trace.late_fault
        if trace.rule is not None:
            outcome.rule = trace.rule["id"]
        if trace.prefer.delay is not None:
            delay = trace.prefer.delay
        elif trace.rule is not None and "delay" in trace.rule["respond"]:
            delay = trace.rule["respond"]["delay"]
        else:
            delay = self.latency.sample(self.behaviours[incoming.operation].kind)
        outcome.delay = self.latency.cap(delay)
        if outcome.delay > 0:
            outcome.headers["X-Mock-Delay"] = f"{outcome.delay:g}"

    def _record(self, incoming: Incoming, outcome: Outcome, trace: _Trace, started: float) -> None:
        if not self.journal.enabled:
            return
        secrets = ([trace.key] if trace.key else []) + list(trace.other_keys)
        raw = trace.raw
        if isinstance(raw, (bytes, bytearray)):
            raw = scrub_text(bytes(raw[:4096]).decode("utf-8", "replace"), secrets)
        response = outcome.body
        if isinstance(response, (bytes, bytearray)):
            media = outcome.headers.get("Content-Type", "")
            response = {"content_type": media, "bytes": len(response)}
        elif isinstance(response, dict):  # a summary: the whole body is one fetch away
            response = {name: response[name] for name in _RESPONSE_SUMMARY if name in response}
        track_id = trace.track_id
        behaviour = self.behaviours.get(incoming.operation)
        if track_id is None and behaviour is not None:
            track_id = behaviour.track_id(outcome.parsed if isinstance(outcome.parsed, dict) else trace.raw)
            if track_id is not None and not isinstance(track_id, str):  # compat reads 123 as "123"
                track_id = limit(str(track_id))
        entry = {
            "owner": trace.owner,
            "method": incoming.method,
            "path": limit(scrub_text(incoming.path, secrets) if "?" in incoming.path else incoming.path),
            "operation": incoming.operation,
            "headers": limit(redact(incoming.headers)),
            "body": limit(redact(raw)),
            "validation": trace.validation,
            "warnings": limit([scrub_text(w, secrets) for w in outcome.warnings]),
            "variant": outcome.variant,
            "status": outcome.status,
            "response": limit(response),
            "job_id": outcome.job_id if outcome.job_id is not None else trace.job_id,
            "track_id": track_id,
            "rule": outcome.rule,
            "reason": trace.reason,
            "fault": outcome.fault,
            "delay": outcome.delay,
            "time": time.time(),
            "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
        }
        if secrets:  # the key echoed where no field name marks it secret (a prompt, a URL, a header)
            free = {name: entry[name] for name in ("path", "headers", "body", "warnings", "response", "track_id")}
            entry.update(mask_values(free, secrets))
        if trace.unsaved_job is None:
            self.journal.record(entry)
        else:
            self.journal.record_with_job(trace.unsaved_job, entry)
            trace.unsaved_job = None

    # -- choosing -----------------------------------------------------------------------------

    def _special(self, operation: str, choice: Choice, owner: str, warnings: list[str]) -> Outcome | None:
        """Prism-style answers: a named example, a status code, a dynamic body, or an error."""
        media = self._response_schemas.get(operation, {})
        status = choice.code or 200
        if choice.example is not None:
            examples = media.get("examples", {})
            recorded = self.replay.example(choice.example) if self.replay is not None else None
            if recorded is not None and choice.example not in examples:  # an episode of --replay, by name
                return Outcome(recorded[0], recorded[1], {}, warnings, "example", owner)
            if choice.example not in examples:
                names = sorted(examples) + (self.replay.example_names() if self.replay is not None else [])
                return Outcome(400, {"status": "error", "message":
                                     f"Prefer: no example named {choice.example!r}; "
                                     f"available: {', '.join(names[:50]) or 'none'}"}, owner=owner)
            return Outcome(status, examples[choice.example].get("value"), {}, warnings, choice.variant, owner)
        if status != 200:
            make = _CODE_ERRORS.get(status)
            if make is None:
                return Outcome(400, {"status": "error", "message":
                                     f"Prefer: code must be one of 200, {', '.join(map(str, _CODE_ERRORS))}, "
                                     f"not '{status}'"}, owner=owner)
            return self._error(make(), warnings, owner, status=status)
        if choice.dynamic:
            seed = choice.dynamic_seed if choice.dynamic_seed is not None else self.rng.draw(lambda r: r.getrandbits(32))
            return Outcome(200, sample(media.get("schema", {}), random.Random(seed)), {}, warnings, "dynamic", owner)
        if choice.variant == "error":
            try:
                error = errors.named_error(choice.error or "rate_limit")
            except ValueError as exc:
                return Outcome(400, {"status": "error", "message": f"Prefer: {exc}"}, owner=owner)
            return self._error(error, warnings, owner)
        return None

    def _choose(self, prefer: Directive, body: dict[str, Any], trace: _Trace) -> Choice:
        """Prefer, then a scenario rule, then hooks, the key table and the ratios."""
        chosen = self.chooser.from_prefer(prefer)
        if chosen is not None:
            return chosen
        rule = self._take_rule(trace)
        if rule is not None:
            respond = rule["respond"]
            variant = respond.get("variant")
            if variant is not None:
                eta = respond.get("eta")
                if variant == "processing" and eta is None:
                    eta = self.chooser._draw_eta()
                return Choice(variant=variant, eta=eta if variant == "processing" else None,
                              outcome=respond.get("outcome", "success"), error=respond.get("error"),
                              source=f"rule:{rule['id']}")
        return self.chooser.choose(prefer, trace.key or "", body)

    # -- what the behaviours use ----------------------------------------------------------------

    def _schedule_webhook(self, job: Job, base_url: str, prefer: Directive, trace: _Trace,
                          warnings: list[str]) -> None:
        refusal = self.webhook_policy.check(str(job.webhook))
        if refusal is not None:
            warnings.append(f"webhook: will not be called ({refusal}); allow the host with webhook_allow_hosts")
        action = prefer.webhook or (trace.rule or {}).get("respond", {}).get("webhook")
        cfg = self.config
        drop = action == "drop"
        copies = 2 if action == "duplicate" else 1
        if action is None and (cfg.webhook_drop_ratio > 0 or cfg.webhook_duplicate_ratio > 0):
            drop_u, dup_u = self.rng.draw(lambda r: (r.random(), r.random()))
            drop = drop_u < cfg.webhook_drop_ratio
            copies = 2 if dup_u < cfg.webhook_duplicate_ratio else 1
        delay = 0.0 if self._webhook_delay.is_zero else self.latency.cap(self.rng.draw(self._webhook_delay.draw))
        self.webhooks.schedule(job, base_url, copies=copies, drop=drop, delay=delay,
                               secrets=(trace.key,) if trace.key else ())

    def _job_body(self, job: Job, base_url: str, now: float, at_once: bool = False) -> dict[str, Any]:
        status = job.status(now)
        if status == "processing":
            return bodies.processing_body(job, base_url, self.base_path, now, messege=self.config.legacy_messege)
        if status == "failed":
            return bodies.failed_body(job, at_once=at_once)
        return bodies.success_body(job, base_url)

    def _job_outcome(self, job: Job, base_url: str, owner: str, warnings: list[str],
                     now: float | None = None, at_once: bool = False) -> Outcome:
        """The answer about a job; ``at_once``: to the request that made it (``now`` = its creation)."""
        now = self.clock.now(job.owner) if now is None else now
        return Outcome(200, self._job_body(job, base_url, now, at_once), {}, warnings, job.status(now), owner, job.id)

    def _webhook_body(self, job: Job, base_url: str) -> dict[str, Any]:
        """What a webhook carries: the fetch body of the finished job plus its ``track_id``."""
        body = self._job_body(job, base_url, max(self.clock.now(job.owner), job.ready_at))
        body["track_id"] = job.track_id
        return body

    # -- output files -------------------------------------------------------------------------

    def output_file(self, name: str, method: str = "GET", path: str = "") -> Outcome:
        """The answer to a GET of ``/generations/<name>``: the file once its job is done, else 404."""
        started = time.perf_counter()
        trace = _Trace(raw=None)
        match = OUTPUT_NAME.fullmatch(name)
        job = self.store.get_job_by_prefix(match["prefix"]) if match else None
        index = int(match["index"]) if match else 0
        if job is not None:
            trace.owner, trace.job_id, trace.track_id = job.owner, job.id, job.track_id
        if (job is None or index >= job.samples or match["ext"] != job.ext
                or job.status(self.clock.now(job.owner)) != "success"):
            outcome = Outcome(404, {"status": "error", "message": f"No generation named {name[:80]!r} is ready"},
                              variant="not_found", owner=trace.owner)
        else:
            rendered = self.artefacts.render_output(job, index)
            outcome = Outcome(200, rendered.data, {"Content-Type": rendered.mimetype,
                                                    "Cache-Control": "public, max-age=86400"},
                              rendered.warnings, "image", job.owner, job.id)
        delay = self.latency.sample("image")
        outcome.delay = delay
        if delay > 0:
            outcome.headers["X-Mock-Delay"] = f"{delay:g}"
        self._record(Incoming("image", b"", None, "", method=method, path=path), outcome, trace, started)
        if delay > 0:
            self.sleep(delay)
        return outcome
