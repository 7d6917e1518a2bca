"""The ModelsLab behaviours: ``generate`` makes a job, ``fetch`` reads one back.

Both share the family's steps, in this order, each answering with the real service's error body
or passing the request on:

parse (JSON object sent as JSON, else "Invalid API Request") -> authenticate (the body ``key``,
else a ``key`` header, else ``Authorization: Bearer``; and the key table, else "Invalid Api Key")
-> read the ``Prefer`` directive (a bad value is a 400) -> preflight (e.g. a fetch id that cannot
be a job) -> normalise (compat mode) -> gate (a fault or error chosen by Prefer, a scenario rule or
the configured ratios acts like a gateway in front of the service) -> validate (Laravel-style field
errors) -> read the valid body as the service does (canonical: 7.0 as 7, flags as yes/no, clamps)
-> answer (generate or fetch). Then, whatever answered: faults on the way back and the
delay (Prefer, rule or configured latency).

``generate`` settings (from the operation's ``x-mock-behaviour``):

- ``family``: jobs are fetched only by fetch operations of the same family (community, realtime, v7);
- ``render``: text2img | img2img | inpaint, how the output image uses the input images;
- ``images``: the body fields holding input images, in render order (init, then mask);
  each is checked cheaply before the job is made (data URI, file, allow-listed URL);
- ``fetch``: the operationId of the fetch operation a queued job names in ``fetch_result``;
- ``model``: ``required`` (``model_id`` must be a known model) or ``none`` (the default).

``fetch`` settings: ``family`` and ``id: {in: path|body, name: NAME}``, where the job id is read.

What every generate operation does besides: ``instant_response: "yes"`` turns an answer the
ratios chose as finished into a queued one (the realtime docs: "queue response instantly"); a key
with ``queue_limit`` jobs still queued gets the rate-limits page's error instead of a new job
(``Prefer`` choices excepted: the caller asked for exactly that answer); a job answered
``failed`` at once gets the documented failed body (id "", output "").
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from typing import Any, Callable, Mapping

from contracts.core.sample import sample
from contracts.core.spec import Operation
from mockserver.behaviours import bodies
from mockserver.behaviours.registry import Behaviour, register
from mockserver.behaviours.services import Services
from mockserver.control import faults
from mockserver.control.rules import is_gate
from mockserver.engine import errors
from mockserver.engine.context import Outcome, RequestContext, owner_of
from mockserver.engine.directives import DirectiveError, parse_prefer
from mockserver.engine.normalise import Normaliser
from mockserver.engine.parsing import BodyError, is_json_content_type, parse_object
from mockserver.engine.validation import OperationValidator, request_host
from mockserver.engine.variants import Choice
from mockserver.images.artefacts import own_output
from mockserver.state.jobs import Job

__all__ = ["Fetch", "Generate", "RENDERS"]

RENDERS = ("text2img", "img2img", "inpaint")
_RENDER_FIELDS = ("init_image", "mask_image")  # where a job keeps its input images, in render order
_OFFLINE = "is not reachable offline; using a placeholder"
_OFFLINE_CACHE = 1024
_CODE_ERRORS: dict[int, Callable[[], errors.ApiError]] = {
    400: errors.invalid_request,
    401: errors.invalid_api_key,
    404: errors.model_not_found,
    422: lambda: errors.field_errors({"prompt": ["The prompt field is required."]}),
    429: errors.rate_limited,
    500: errors.server_error,
}
#: What the spec's ``\S`` (an ECMA-262 regex, as the validator reads it) calls blank; Python's
#: ``str.strip()`` also strips \x1c-\x1f and \x85, which made spec-valid keys "Invalid Api Key".
_SPEC_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"


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


def _job_number(raw: str) -> int | None:
    """The job a fetch names: 1-18 ASCII digits (a 64-bit id), else None (``abc``, ``""``, ``12\\n``)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


class _ModelsLab(Behaviour):
    """The steps every operation of the ModelsLab family shares; subclasses answer."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        self.family = self.setting("family", str)
        self._media = op.responses.get("200", {}).get("content", {}).get("application/json", {})

    def bind(self, services: Services) -> None:
        super().bind(services)
        self.config = services.config
        self.validator = OperationValidator(services.spec.openapi, self.op, self.base_path,
                                            request_host(services.spec.document))
        self.normaliser = Normaliser(self.op.body_schema or {}, getattr(self, "images", None))
        self.steps = (self.parse, self.authenticate, self.read_prefer, self.preflight, self.normalise, self.gate,
                      self.validate, self.respond)
        self.after = (self.finish,)

    # -- the steps ----------------------------------------------------------------------------------

    def parse(self, ctx: RequestContext) -> Outcome | None:
        incoming = ctx.incoming
        if not is_json_content_type(incoming.content_type):
            ctx.raw = incoming.body
            return self.refuse(ctx, errors.invalid_request(), "content type is not application/json")
        try:
            body = parse_object(incoming.body)
            if b"\\u" in incoming.body:
                _no_lone_surrogates(body)
        except BodyError as exc:
            ctx.raw = incoming.body
            return self.refuse(ctx, errors.invalid_request(), str(exc))
        ctx.raw = ctx.body = body
        return None

    def authenticate(self, ctx: RequestContext) -> Outcome | None:
        key = ctx.body.get("key")  # type: ignore[union-attr]
        in_headers = header_keys(ctx.incoming.headers)
        if not _usable_key(key):
            key = next((k for k in in_headers if _usable_key(k)), None)
            if key is None:
                return self.refuse(ctx, errors.invalid_api_key(), "key is missing or empty")
        ctx.key = key
        ctx.secrets = tuple(k for k in in_headers if k and k != key)  # masked in the journal too
        ctx.owner = owner_of(key)
        rule = self.config.key_rule(key)
        if (rule is not None and not rule.valid) or (rule is None and not self.config.accept_any_key):
            return self.refuse(ctx, errors.invalid_api_key(), "key is not accepted by the key table")
        return None

    def read_prefer(self, ctx: RequestContext) -> Outcome | None:
        try:
            ctx.prefer = parse_prefer(ctx.incoming.prefer)
        except DirectiveError as exc:
            return Outcome(400, {"status": "error", "message": str(exc)}, owner=ctx.owner)
        return None

    def preflight(self, ctx: RequestContext) -> Outcome | None:
        """An answer before the body is normalised and validated (once the key is known), or None
        to go on: e.g. a fetch whose path names no job at all. The default goes on."""
        return None

    def normalise(self, ctx: RequestContext) -> Outcome | None:
        if not self.config.strict:
            from_header = not _usable_key(ctx.body.get("key"))
            ctx.body, ctx.warnings = self.normaliser.normalise(ctx.body)
            if from_header and "key" in self.normaliser.rules:  # the body's key is the one the headers gave
                ctx.body = {**ctx.body, "key": ctx.key}
                ctx.warnings.append("key: read from the request's key/Authorization header")
        return None

    def gate(self, ctx: RequestContext) -> Outcome | None:
        """Prefer's fault, then a rule answering with an error or fault, then a configured fault."""
        prefer, s = ctx.prefer, self.services
        if prefer.fault is not None:
            return self._fault(prefer.fault, ctx)
        if prefer.chooses:
            return None  # Prefer chose the answer: rules and random faults stay out of it
        params = ctx.incoming.path_params
        match_body = {**ctx.body, **params} if params else ctx.body
        ctx.candidates = s.rules.candidates(ctx.incoming.operation, ctx.owner, match_body)
        for index, rule in enumerate(ctx.candidates):
            respond = rule["respond"]
            if not is_gate(respond):
                ctx.next_rule = index
                break
            if not s.rules.consume(rule):
                continue
            ctx.rule = rule
            ctx.next_rule = len(ctx.candidates)
            if respond.get("fault"):
                return self._fault(respond["fault"], ctx)
            if respond.get("code"):
                return self.error(_CODE_ERRORS[respond["code"]](), ctx, status=respond["code"])
            return self.error(errors.named_error(respond["error"]), ctx)  # parse_rule names one for variant error
        else:
            ctx.next_rule = len(ctx.candidates)
        keyed = self._key_word(ctx, "fault")  # the key table, after rules (as for the variant)
        name = keyed if keyed is not None else s.faults.sample()  # None when no fault is set
        if name is not None:
            return self._fault(name, ctx)
        return None

    def _key_word(self, ctx: RequestContext, word: str) -> Any:
        """What the key table says for this request's key (None when it says nothing)."""
        rule = self.config.key_rule(ctx.key)  # None without a key (a refused request's finish) or an entry
        return getattr(rule, word) if rule is not None else None

    def validate(self, ctx: RequestContext) -> Outcome | None:
        problems = self.validator.errors(ctx.body, ctx.incoming.path_params)
        if problems:
            ctx.validation = {"valid": False, "errors": problems}
            outcome = self.error(errors.field_errors(problems), ctx)
            outcome.validation_errors = problems
            return outcome
        ctx.validation = {"valid": True}
        ctx.body, notes = self.normaliser.canonical(ctx.body)  # the valid body as the service reads it
        ctx.warnings.extend(notes)
        return None

    def respond(self, ctx: RequestContext) -> Outcome:
        outcome = self.answer(ctx)
        outcome.parsed = ctx.body
        return outcome

    def answer(self, ctx: RequestContext) -> Outcome:
        raise NotImplementedError

    def finish(self, ctx: RequestContext, outcome: Outcome) -> None:
        """Faults on the way back, and how long to wait before answering."""
        latency = self.services.latency
        if ctx.late_fault:  # the gate let the request through: no other fault is on the answer
            outcome.fault = ctx.late_fault
        if ctx.rule is not None:
            outcome.rule = ctx.rule["id"]
        if ctx.prefer.delay is not None:
            delay = ctx.prefer.delay
        elif ctx.rule is not None and "delay" in ctx.rule["respond"]:
            delay = ctx.rule["respond"]["delay"]
        elif (keyed := self._key_word(ctx, "delay")) is not None:
            delay = keyed
        else:
            delay = latency.sample(self.kind)
        outcome.delay = latency.cap(delay)
        if outcome.delay > 0:
            outcome.headers["X-Mock-Delay"] = f"{outcome.delay:g}"

    # -- shared by the steps --------------------------------------------------------------------------

    def refuse(self, ctx: RequestContext, error: errors.ApiError, reason: str) -> Outcome:
        """A request refused before validation: the reason is a warning and the journal's verdict."""
        ctx.validation = {"valid": False, "errors": {"request": [reason]}}
        ctx.warnings = [reason]
        return self.error(error, ctx, owner=None)

    def error(self, error: errors.ApiError, ctx: RequestContext, status: int | None = None,
              owner: Any = ...) -> Outcome:
        http_errors = self.config.http_errors
        return Outcome(
            status if status is not None else error.status(http_errors),
            error.body,
            dict(error.headers) if (status or http_errors) and error.headers else {},
            list(ctx.warnings),
            "error",
            ctx.owner if owner is ... else owner,
        )

    def _fault(self, name: str, ctx: RequestContext) -> Outcome | None:
        if name in faults.AFTER:
            ctx.late_fault = name
            return None
        if name == "rate_limit":
            outcome = self.error(errors.rate_limited(), ctx)
        else:
            status, page, headers = faults.gateway_page(name)
            outcome = Outcome(status, page, headers, list(ctx.warnings), "fault", ctx.owner)
        outcome.fault = name
        return outcome

    def take_rule(self, ctx: RequestContext) -> dict[str, Any] | None:
        """The first remaining matching rule that is not a gate, used up once (phase two)."""
        while ctx.next_rule < len(ctx.candidates):
            rule = ctx.candidates[ctx.next_rule]
            ctx.next_rule += 1
            if not is_gate(rule["respond"]) and self.services.rules.consume(rule):
                ctx.rule = rule
                return rule
        return None

    def special(self, choice: Choice, ctx: RequestContext) -> Outcome | None:
        """Prism-style answers: a named example, a status code, a dynamic body, or an error."""
        media, owner, warnings = self._media, ctx.owner, ctx.warnings
        status = choice.code or 200
        if choice.example is not None:
            examples = media.get("examples", {})
            replay = self.services.replay
            recorded = replay.example(choice.example) if replay is not None else None
            if recorded is not None and choice.example not in examples:  # an episode of --replay, by name
                return Outcome(recorded[0], recorded[1], {}, warnings, "example", owner)
            if choice.example not in examples:
                names = sorted(examples) + (replay.example_names() if replay is not None else [])
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
            return self.error(make(), ctx, status=status)
        if choice.dynamic:
            seed = choice.dynamic_seed if choice.dynamic_seed is not None else \
                self.services.rng.draw(lambda r: r.getrandbits(32))
            return Outcome(200, sample(media.get("schema", {}), random.Random(seed)), {}, warnings, "dynamic", owner)
        if choice.variant == "error":
            try:
                error = errors.named_error(choice.error or "rate_limit")
            except ValueError as exc:
                return Outcome(400, {"status": "error", "message": f"Prefer: {exc}"}, owner=owner)
            return self.error(error, ctx)
        return None

    def job_outcome(self, job: Job, ctx: RequestContext, now: float | None = None, at_once: bool = False) -> Outcome:
        """The answer about a job; ``at_once``: to the request that made it (``now`` = its creation)."""
        now = self.services.clock.now(job.owner) if now is None else now
        body = bodies.job_body(job, ctx.incoming.base_url, self.base_path, now, messege=self.config.legacy_messege,
                               at_once=at_once)
        return Outcome(200, body, {}, ctx.warnings, job.status(now), ctx.owner, job.id)


@register("generate")
class Generate(_ModelsLab):
    """Creates a job: variants, queue, images, webhooks."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        self.render = self.setting("render", str, choices=RENDERS)
        images = self.setting("images", list, default=[])
        if not all(isinstance(name, str) and name for name in images) or len(images) > len(_RENDER_FIELDS):
            raise self.fail(f"'images' must list at most {len(_RENDER_FIELDS)} body field names, not {images!r}")
        self.images: tuple[str, ...] = tuple(images)
        self.model_required = self.setting("model", str, default="none", choices=("required", "none")) == "required"
        self.fetch_op = self.setting("fetch", str)
        self._offline_refs: dict[tuple[str, str], Any] = {}  # see _precheck
        self._fetch_template = ""

    def check_links(self, behaviours: Mapping[str, Behaviour]) -> None:
        target = behaviours.get(self.fetch_op)
        if not isinstance(target, Fetch):
            raise self.fail(f"'fetch' names {self.fetch_op!r}, which is not a fetch operation of this spec")
        if target.family != self.family:
            raise self.fail(f"'fetch' names {self.fetch_op!r} of family {target.family!r}, not {self.family!r}")
        self._fetch_template = target.link_template()

    def fetch_path(self, job_id: int) -> str:
        return self._fetch_template.replace("{id}", str(job_id))

    def track_id(self, parsed: Any) -> Any:
        """The ``track_id`` a request carries (the journal files the request under it)."""
        return parsed.get("track_id") if isinstance(parsed, dict) else None

    def answer(self, ctx: RequestContext) -> Outcome:
        body = ctx.body
        # Prefer still chooses under --replay (an example, a variant); else the recording answers
        replayed = None if ctx.prefer.chooses else self._replayed(ctx)
        if replayed is not None and not isinstance(replayed, Choice):
            return replayed
        if self.model_required and not self.config.model_allowed(body.get("model_id", "")):
            return self.error(errors.model_not_found(), ctx)
        for name in self.images:
            check = self._precheck(body.get(name), name)
            if check.warning:
                ctx.warnings.append(check.warning)
            if check.error is not None:
                return self.error(check.error, ctx)
        choice = replayed if replayed is not None else self._choose(ctx)
        if choice.source == "ratio" and choice.variant in ("success", "failed") and body.get("instant_response") == "yes":
            choice = Choice(variant="processing", eta=self.services.chooser._draw_eta(), outcome=choice.variant,
                            source="ratio+instant_response")
        ctx.reason = choice.source
        special = self.special(choice, ctx)
        if special is not None:
            return special
        s = self.services
        limit = self.config.queue_limit
        if limit and choice.source != "prefer":
            owner = ctx.owner or ""
            now = s.clock.now(owner)
            queued, first_ready = s.store.queue_count(owner, now)
            if queued >= limit:
                wait = max(0.0, (first_ready or now) - now)
                retry_after = max(1, min(30, math.ceil(wait)))
                ctx.warnings.append(f"queue limit: {queued} jobs of this key are queued (queue_limit = {limit})")
                return self.error(errors.queue_limit(limit, retry_after, math.ceil(time.time() + wait)), ctx)
        job = self._new_job(ctx, choice)
        if limit and job.ready_at > job.created_at:
            s.store.queue_add(job.owner, job.id, job.ready_at, job.created_at)
        if replayed is not None and self.services.replay is not None:
            self.services.replay.shape_job(job, choice.source)
        if job.webhook:
            job.webhook_status = "pending"
            self.services.store.put_job(job)  # stored before a delivery thread can look at it
            self._schedule_webhook(job, ctx)
        else:
            ctx.unsaved_job = job  # stored with the journal entry, before the answer is sent
        # The answer describes the job as it was made: eta is exactly the one chosen (replayable).
        return self.job_outcome(job, ctx, now=job.created_at, at_once=True)

    def _replayed(self, ctx: RequestContext) -> Outcome | Choice | None:
        """Under ``--replay``: the recorded episode's choice, its recorded error answer, or None."""
        library = self.services.replay
        if library is None:
            return None
        found = library.find(self.base_path + self.op.path, ctx.body)
        if found is None:
            if library.on_miss == "error":
                return self.error(errors.no_episode(), ctx)
            ctx.warnings.append("no recorded episode matches this request; generated as usual")
            return None
        ctx.warnings.append(found.warning)
        if found.variant == "error":
            return Outcome(found.status, found.body, dict(found.headers), ctx.warnings, "error", ctx.owner)
        return Choice(variant=found.variant, eta=found.eta, outcome=found.outcome, source=f"replay:{found.episode}")

    def _choose(self, ctx: RequestContext) -> Choice:
        """Prefer, then a scenario rule, then hooks, the key table and the ratios. (When Prefer
        chooses, the gate looked for no rules, so none is taken; ``chooser.choose`` reads Prefer first.)"""
        chooser = self.services.chooser
        rule = self.take_rule(ctx)
        if rule is not None:
            respond = rule["respond"]
            variant = respond.get("variant")
            if variant is not None:
                eta = respond.get("eta")
                if variant == "processing" and eta is None:
                    eta = chooser._draw_eta()
                # eta is read only while queued; error never here (a rule answering one is a gate)
                return Choice(variant=variant, eta=eta, outcome=respond.get("outcome", "success"),
                              source=f"rule:{rule['id']}")
        return chooser.choose(ctx.prefer, ctx.key or "", ctx.body)

    def _precheck(self, ref: Any, name: str) -> Any:
        """``artefacts.precheck``, remembering the answers that depend on nothing but the string: a URL
        whose host is not on the allow-list is refused before any lookup (no DNS), the same way every
        time; most clients send the same few URLs, and the check parses the URL and the host each time.
        Anything that depends on DNS, files, jobs or a fetch is checked afresh on every request."""
        artefacts = self.services.artefacts
        if type(ref) is not str or len(ref) > 2048:
            return artefacts.precheck(ref, name)
        key = (name, ref)
        check = self._offline_refs.get(key)
        if check is not None:
            return check
        check = artefacts.precheck(ref, name)
        # Only a URL whose host is off the list (the check that needs no DNS) says "is not on the
        # allow-list": that also rules out files, data URIs and mapped URLs. An output of this mock
        # is left out: its job may exist by the next request.
        if (check.error is None and check.warning is not None and check.warning.endswith(_OFFLINE)
                and own_output(ref) is None
                and (refusal := artefacts.sources.net.check(ref.strip())) is not None
                and "is not on the allow-list" in refusal):
            if len(self._offline_refs) >= _OFFLINE_CACHE:
                self._offline_refs.clear()
            self._offline_refs[key] = check
        return check

    def _schedule_webhook(self, job: Job, ctx: RequestContext) -> None:
        s = self.services
        refusal = s.webhook_policy.check(str(job.webhook))
        if refusal is not None:
            ctx.warnings.append(f"webhook: will not be called ({refusal}); allow the host with webhook_allow_hosts")
        action = ctx.prefer.webhook or (ctx.rule or {}).get("respond", {}).get("webhook") or \
            self._key_word(ctx, "webhook")
        cfg = self.config
        drop = action == "drop"
        copies = 2 if action == "duplicate" else 1
        if action is None and (cfg.webhook_drop_ratio > 0 or cfg.webhook_duplicate_ratio > 0):
            drop_u, dup_u = s.rng.draw(lambda r: (r.random(), r.random()))
            drop = drop_u < cfg.webhook_drop_ratio
            copies = 2 if dup_u < cfg.webhook_duplicate_ratio else 1
        delay = 0.0 if s.webhook_delay.is_zero else s.latency.cap(s.rng.draw(s.webhook_delay.draw))
        s.webhooks.schedule(job, ctx.incoming.base_url, copies=copies, drop=drop, delay=delay,
                            secrets=(ctx.key,) if ctx.key else ())

    def _new_job(self, ctx: RequestContext, choice: Choice) -> Job:
        s = self.services
        params = self.normaliser.effective_params(ctx.body)
        requested_seed = params.get("seed")

        def draws(rng: random.Random) -> tuple[str, int, float]:
            prefix = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            seed = requested_seed if isinstance(requested_seed, int) else rng.randrange(2**32)
            return prefix, seed, round(rng.uniform(1.2, 9.5), 10)

        prefix, seed, gen_time = s.rng.draw(draws)
        owner = ctx.owner or ""
        now = s.clock.now(owner)
        queued = choice.variant == "processing"
        outcome = choice.outcome if queued else ("failed" if choice.variant == "failed" else "success")
        prompt = params.get("prompt")
        job_id = s.store.next_id()
        render = {"prompt": params.get("prompt"), "mode": self.render}  # mode: how the output uses the inputs
        for index, target in enumerate(_RENDER_FIELDS):
            render[target] = params.get(self.images[index]) if index < len(self.images) else None
        if self.render == "img2img":
            render["strength"] = params.get("strength")
        render["safety_checker"] = params.get("safety_checker")
        render["safety_checker_type"] = params.get("safety_checker_type")
        return Job(
            id=job_id,
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
            meta=bodies.build_meta(params, seed, prefix, self.family, images=bool(self.images)),
            ext="base64" if params.get("base64") == "yes" else "png",
            nsfw=bool(params.get("safety_checker") == "yes" and s.nsfw is not None
                      and isinstance(prompt, str) and s.nsfw.search(prompt)),
            webhook=params.get("webhook"),
            track_id=params.get("track_id"),
            render=render,
            family=self.family,
            fetch_path=self.fetch_path(job_id),
        ).capped()


@register("fetch")
class Fetch(_ModelsLab):
    """Reads a job of its family by an id in the path or the body."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        where = self.setting("id", dict)
        self.id_in = where.get("in")
        self.id_name = where.get("name")
        if self.id_in not in ("path", "body") or not isinstance(self.id_name, str) or not self.id_name:
            raise self.fail(f"'id' must be {{in: path|body, name: NAME}}, not {where!r}")
        if self.id_in == "path" and "{" + self.id_name + "}" not in op.path:
            raise self.fail(f"'id' names path parameter {self.id_name!r}, which {op.path} does not have")

    def link_template(self) -> str:
        """This operation's path under the base, with ``{id}`` where the job id goes."""
        path = self.base_path + self.op.path
        return path.replace("{" + self.id_name + "}", "{id}") if self.id_in == "path" else path

    def preflight(self, ctx: RequestContext) -> Outcome | None:
        """A path that names no job at all (``/fetch/``, ``/fetch/abc``: the CLI fetches ``/fetch/``
        after an error) is the fetch's own "Request not found", not a 404 page or a field error."""
        if self.id_in != "path":
            return None
        raw = ctx.incoming.path_params.get(self.id_name, "")
        if _job_number(raw) is not None:
            return None
        ctx.warnings.append(f"{self.id_name}: {raw[:40]!r} is not a job id")
        return self.error(errors.job_not_found(raw[:40]), ctx)

    def answer(self, ctx: RequestContext) -> Outcome:
        choice = self.services.chooser.from_prefer(ctx.prefer)
        if choice is not None:
            ctx.reason = choice.source
            special = self.special(choice, ctx)
            if special is not None:
                return special
        else:
            self.take_rule(ctx)  # a delay rule for fetches
        raw_id = ctx.incoming.path_params.get(self.id_name) if self.id_in == "path" else ctx.body.get(self.id_name)
        job_id = str(raw_id)
        number = _job_number(job_id)
        job = self.services.store.get_job(number) if number is not None else None
        if job is None or job.owner != ctx.owner or job.family != self.family:
            return self.error(errors.job_not_found(job_id[:40]), ctx)
        ctx.track_id = job.track_id
        return self.job_outcome(job, ctx)
