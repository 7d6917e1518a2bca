"""The one way through the mock for an API request, free of any web framework.

parse -> authenticate -> normalise (compat) -> validate -> choose the variant -> build the body
-> (optionally) check the body against the spec. Each step either passes the request on or
ends it with the real service's error body. The Flask layer only turns HTTP into an
``Incoming`` and an ``Outcome`` back into HTTP, so the same engine can sit behind any server.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from contracts.sample import sample
from contracts.spec import Operation, operations, relative_base_path
from mockserver import bodies, errors
from mockserver.clock import Clock
from mockserver.config import MockConfig
from mockserver.jobs import Job
from mockserver.normalise import Normaliser, effective_params
from mockserver.parsing import BodyError, is_json_content_type, parse_object
from mockserver.store import Store
from mockserver.validation import OperationValidator
from mockserver.variants import Choice, PreferError, SeededRandom, VariantChooser, parse_prefer

__all__ = ["Engine", "Incoming", "Outcome", "owner_of"]

_CODE_ERRORS: dict[int, Callable[[], errors.ApiError]] = {
    400: errors.invalid_request,
    401: errors.invalid_api_key,
    404: errors.model_not_found,
    422: lambda: errors.field_errors({"prompt": ["The prompt field is required."]}),
    429: errors.rate_limited,
    500: errors.server_error,
}


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


@dataclass
class Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    variant: str = "error"
    owner: str | None = None
    job_id: int | None = None
    validation_errors: dict[str, list[str]] | None = None
    parsed: dict[str, Any] | None = None


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
        self.base_path = relative_base_path(document)
        self.operations: dict[str, Operation] = operations(document)
        self.validators = {op_id: OperationValidator(openapi, op, self.base_path)
                           for op_id, op in self.operations.items() if op.body_schema}
        self.normalisers = {op_id: Normaliser(op.body_schema)
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
        self.handlers: dict[str, Callable[[Incoming, dict[str, Any], str, dict[str, str], list[str]], Outcome]] = {
            "inpaint": self._generate,
            "fetchById": self._fetch,
            "fetchByRequestId": self._fetch,
        }

    # -- the pipeline -------------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Outcome:
        try:
            outcome = self._run(incoming)
        except _Ended as ended:
            outcome = ended.outcome
        self._check_response(incoming.operation, outcome)
        return outcome

    def _run(self, incoming: Incoming) -> Outcome:
        if not is_json_content_type(incoming.content_type):
            raise _Ended(self._error(errors.invalid_request(), ["content type is not application/json"]))
        try:
            body = parse_object(incoming.body)
        except BodyError as exc:
            raise _Ended(self._error(errors.invalid_request(), [str(exc)]))
        key = body.get("key")
        if not isinstance(key, str) or not key.strip():
            raise _Ended(self._error(errors.invalid_api_key(), ["key is missing or empty"]))
        rule = self.config.key_rule(key)
        if (rule is not None and not rule.valid) or (rule is None and not self.config.accept_any_key):
            raise _Ended(self._error(errors.invalid_api_key(), ["key is not accepted by the key table"]))
        owner = owner_of(key)
        try:
            prefer = parse_prefer(incoming.prefer)
        except PreferError as exc:
            raise _Ended(Outcome(400, {"status": "error", "message": str(exc)}, owner=owner))
        warnings: list[str] = []
        if not self.config.strict:
            body, warnings = self.normalisers[incoming.operation].normalise(body)
        problems = self.validators[incoming.operation].errors(body, incoming.path_params)
        if problems:
            outcome = self._error(errors.field_errors(problems), warnings, owner)
            outcome.validation_errors = problems
            raise _Ended(outcome)
        outcome = self.handlers[incoming.operation](incoming, body, owner, prefer, warnings)
        outcome.parsed = body
        return outcome

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

    # -- choosing -----------------------------------------------------------------------------

    def _special(self, operation: str, choice: Choice, owner: str, warnings: list[str]) -> Outcome | None:
        """Prism-style answers: a named example, a status code, a dynamic body, or an error."""
        media = self._response_schemas.get(operation, {})
        status = choice.code or 200
        if choice.example is not None:
            examples = media.get("examples", {})
            if choice.example not in examples:
                return Outcome(400, {"status": "error", "message":
                                     f"Prefer: no example named {choice.example!r}; "
                                     f"available: {', '.join(sorted(examples)) or 'none'}"}, owner=owner)
            return Outcome(status, examples[choice.example].get("value"), {}, warnings, choice.variant, owner)
        if status != 200:
            make = _CODE_ERRORS.get(status)
            if make is None:
                return Outcome(400, {"status": "error", "message":
                                     f"Prefer: code must be one of 200, {', '.join(map(str, _CODE_ERRORS))}"},
                               owner=owner)
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

    # -- operations ---------------------------------------------------------------------------

    def _generate(self, incoming: Incoming, body: dict[str, Any], owner: str,
                  prefer: dict[str, str], warnings: list[str]) -> Outcome:
        if not self.config.model_allowed(body.get("model_id", "")):
            return self._error(errors.model_not_found(), warnings, owner)
        choice = self.chooser.choose(prefer, body["key"], body)
        special = self._special(incoming.operation, choice, owner, warnings)
        if special is not None:
            return special
        now = self.clock.now(owner)
        job = self._new_job(body, owner, choice, now)
        self.store.put_job(job)
        return self._job_outcome(job, incoming.base_url, owner, warnings, now, first_eta=choice.eta)

    def _fetch(self, incoming: Incoming, body: dict[str, Any], owner: str,
               prefer: dict[str, str], warnings: list[str]) -> Outcome:
        choice = self.chooser.from_prefer(prefer)
        if choice is not None:
            special = self._special(incoming.operation, choice, owner, warnings)
            if special is not None:
                return special
        raw_id = incoming.path_params.get("id", body.get("request_id"))
        job_id = str(raw_id)
        job = self.store.get_job(int(job_id)) if job_id.isdigit() and len(job_id) <= 18 else None
        if job is None or job.owner != owner:
            return self._error(errors.job_not_found(job_id[:40]), warnings, owner)
        return self._job_outcome(job, incoming.base_url, owner, warnings)

    def _job_outcome(self, job: Job, base_url: str, owner: str, warnings: list[str],
                     now: float | None = None, first_eta: float | None = None) -> Outcome:
        """The job's answer now; the first answer reports the drawn eta itself (replayable)."""
        now = self.clock.now(job.owner) if now is None else now
        status = "processing" if first_eta is not None else job.status(now)
        if status == "processing":
            body = bodies.processing_body(job, base_url, self.base_path, now)
            if first_eta is not None:
                body["eta"] = float(first_eta)
        elif status == "failed":
            body = bodies.failed_body(job)
        else:
            body = bodies.success_body(job, base_url)
        return Outcome(200, body, {}, warnings, status, owner, job.id)

    def _new_job(self, body: dict[str, Any], owner: str, choice: Choice, now: float) -> Job:
        params = effective_params(body, self.operations["inpaint"].body_schema or {})
        requested_seed = params.get("seed")

        def draws(rng: random.Random) -> tuple[str, int, float]:
            prefix = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            seed = requested_seed if isinstance(requested_seed, int) else rng.randrange(2**32)
            return prefix, seed, round(rng.uniform(1.2, 9.5), 10)

        prefix, seed, gen_time = self.rng.draw(draws)
        queued = choice.variant == "processing"
        outcome = choice.outcome if queued else ("failed" if choice.variant == "failed" else "success")
        return Job(
            id=self.store.next_id(),
            owner=owner,
            created_at=now,
            ready_at=now + ((choice.eta or 0.0) if queued else 0.0),
            outcome=outcome,
            file_prefix=prefix,
            samples=int(params.get("samples", 1)),
            width=int(params.get("width", 512)),
            height=int(params.get("height", 512)),
            seed=seed,
            generation_time=gen_time,
            meta=bodies.build_meta(params, seed, prefix),
            ext="base64" if params.get("base64") == "yes" else "png",
            webhook=params.get("webhook"),
            track_id=params.get("track_id"),
            render={k: params.get(k) for k in ("prompt", "init_image", "mask_image", "safety_checker")},
        )
