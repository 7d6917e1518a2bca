"""What the schema cannot say: the semantic contract of the ModelsLab image API, as checks.

A schema accepts ``{"status": "success", "output": []}`` for a request of 2 samples; a client
that shows the user "your 2 images" does not. These checks state the rest of the contract:

=====  ===============================  ====================================================
code   check                            rule
=====  ===============================  ====================================================
MLC101 samples_match_outputs            a success has one output per requested sample (and a
                                        processing body promises as many ``future_links``)
MLC102 processing_names_job             processing has an integer ``id``, ``eta >= 0`` and a
                                        ``fetch_result`` URL naming that id
MLC103 future_links_become_outputs      a job's success delivers the URLs it promised
MLC104 job_never_regresses              a finished job never goes back to processing
MLC105 meta_echoes_request              ``meta`` echoes what was asked (W, H, n_samples, ...)
MLC106 outputs_are_images               output URLs serve images of the requested size
MLC107 errors_have_message              error and failed bodies say what went wrong
MLC108 input_validation_matches_spec    a strict server rejects invalid input; no server
                                        answers valid input with field errors
=====  ===============================  ====================================================

The checks know operations by what they do, never by name: the spec's ``x-mock-behaviour``
(``contracts.core.behaviours``) says which operations create jobs (``generate``: text2img,
img2img, inpaint of any family) and which read them (``fetch``, by a path id or a body
``request_id``); a job is followed within its family, and its ``fetch_result`` must name the
fetch its generate operation declares. A spec that declares neither (a foreign spec) gets none
of these checks, only the generic ones of whatever runs them.

They work on an ``Exchange`` (one request and its answer, as plain data), so they run on their
own, inside the pytest plugin, in the fuzzer, and as Schemathesis checks
(``contracts.run.schemathesis_bridge``). A ``ContractChecker`` carries what spans exchanges: the
``JobLedger`` (what each job promised before) and how to fetch output images. Every
``Violation`` explains itself: the rule, what was expected, what came, and a ``curl`` line
(key masked) that reproduces the request.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from contracts.core.behaviours import SpecBehaviours, spec_behaviours
from contracts.core.curl import curl_command
from contracts.core.redact import redact
from contracts.core.schema_validation import problems
from contracts.core.spec import SPEC_FILE, load_document
from contracts.core.transport import HttpResponse

__all__ = [
    "CHECKS",
    "CheckSpec",
    "ContractChecker",
    "ContractViolation",
    "Exchange",
    "JobLedger",
    "Violation",
    "image_size",
    "operation_for",
]

_DEFAULTS = {"width": 512, "height": 512, "samples": 1}


# -- data -------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and its answer, parsed; ``operation`` is the spec's operationId (or "") in
    ``spec`` (a name in openapi/ or a path)."""

    method: str
    url: str
    request_body: Any
    status: int
    response_body: Any
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    operation: str = ""
    path_params: dict[str, str] = field(default_factory=dict)
    raw_request_body: bytes | None = None
    spec: str = SPEC_FILE

    @classmethod
    def from_http(cls, answer: HttpResponse, spec: str = SPEC_FILE) -> "Exchange":
        try:
            request_body = json.loads(answer.request_body) if answer.request_body else None
        except (ValueError, UnicodeDecodeError):
            request_body = None
        exchange = cls(answer.method, answer.url, request_body, answer.status, answer.json_or_none(),
                       dict(answer.request_headers), dict(answer.headers),
                       raw_request_body=answer.request_body, spec=spec)
        exchange.operation, exchange.path_params = operation_for(answer.method, answer.url, spec)
        return exchange

    @property
    def body_status(self) -> str | None:
        body = self.response_body
        return body.get("status") if isinstance(body, dict) and isinstance(body.get("status"), str) else None

    def requested(self, name: str) -> Any:
        """A request field as the server should read it: ``"512"`` -> 512 for a numeric field,
        absent -> the spec default."""
        body = self.request_body if isinstance(self.request_body, dict) else {}
        value = body.get(name)
        if value is None and name == "steps":
            value = body.get("num_inference_steps")
        if value is None and name == "num_inference_steps":
            value = body.get("steps")
        numeric, defaults = _body_facts(self.spec, self.operation)
        if isinstance(value, str) and name in numeric and value.strip().lstrip("+-").isdigit():
            return int(value)
        if value is None:
            return defaults.get(name, _DEFAULTS.get(name))
        return value

    def curl(self) -> str:
        return curl_command(self.method, self.url, self.request_body if self.request_body is not None else None,
                            {k: v for k, v in self.request_headers.items()},
                            raw_body=self.raw_request_body if self.request_body is None else None)


@dataclass
class Violation:
    """A broken rule, explained: which check, expected what, got what, how to reproduce."""

    check: str
    code: str
    rule: str
    expected: str
    got: str
    exchange: Exchange | None = None

    def explain(self, reproduce: bool = True) -> str:
        lines = [f"[{self.code} {self.check}] {self.rule}"]
        if self.exchange is not None:
            lines.append(f"  request:   {self.exchange.method} {self.exchange.url}"
                         + (f" -> HTTP {self.exchange.status}" if self.exchange.status else ""))
        lines.append(f"  expected:  {self.expected}")
        lines.append(f"  got:       {self.got}")
        if reproduce and self.exchange is not None:
            lines.append(f"  reproduce: {self.exchange.curl()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


class ContractViolation(AssertionError):
    """Raised by ``ContractChecker.assert_ok``; the message explains every violation."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("\n\n".join(v.explain() for v in violations))


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(redact(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- where a request went ---------------------------------------------------------------------------

def _behaviours(spec: str) -> SpecBehaviours:
    return spec_behaviours(spec)


@lru_cache(maxsize=64)
def _body_facts(spec: str, operation: str) -> tuple[frozenset[str], dict[str, Any]]:
    """(fields typed as numbers, defaults) of a generate operation's body; for any other
    operation, those of all the spec's generate operations (what a job's request may hold)."""
    index = _behaviours(spec)
    generate = index.generate.get(operation)
    schemas = [generate.body_schema] if generate is not None else [g.body_schema for g in index.generate.values()]
    numeric: set[str] = set()
    defaults: dict[str, Any] = {}
    for schema in schemas:
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            branches = sub.get("oneOf", sub.get("anyOf", [sub]))
            kinds: set[Any] = set()
            for branch in branches:
                kind = branch.get("type") if isinstance(branch, dict) else None
                kinds.update(kind if isinstance(kind, list) else [kind])
            if kinds & {"integer", "number"}:
                numeric.add(name)
            if "default" in sub and name in _DEFAULTS and name not in defaults:
                defaults[name] = sub["default"]
    return frozenset(numeric), defaults


def operation_for(method: str, url: str, spec: str = SPEC_FILE) -> tuple[str, dict[str, str]]:
    """(operationId, path params) of the spec operation a request URL names, or ("", {})."""
    return _behaviours(spec).operation_for(method, url)


def _kind(exchange: Exchange, spec: str) -> str | None:
    return _behaviours(spec).kind(exchange.operation)


# -- state across exchanges -------------------------------------------------------------------------


@dataclass
class JobRecord:
    request: Exchange | None = None
    future_links: list[str] | None = None
    statuses: list[str] = field(default_factory=list)


class JobLedger:
    """What each job (by server, key and family) was promised and went through, for stateful
    checks; a fetch reads the jobs of its own family only, as the service does."""

    def __init__(self, spec: str = SPEC_FILE) -> None:
        self.spec = spec
        self._jobs: dict[tuple[str, str | None, Any], JobRecord] = {}
        self._lock = threading.Lock()

    @staticmethod
    def scope(exchange: Exchange) -> str:
        body = exchange.request_body if isinstance(exchange.request_body, dict) else {}
        key = body.get("key")
        return f"{urlsplit(exchange.url).netloc}|{key if isinstance(key, str) else ''}"

    @staticmethod
    def job_id(exchange: Exchange) -> Any:
        body = exchange.response_body if isinstance(exchange.response_body, dict) else {}
        if isinstance(body.get("id"), int) and not isinstance(body.get("id"), bool):
            return body["id"]
        raw = exchange.path_params.get("id")
        if raw is None and isinstance(exchange.request_body, dict):
            raw = exchange.request_body.get("request_id")
        return int(raw) if isinstance(raw, str) and raw.isdigit() else raw if isinstance(raw, int) else None

    def get(self, exchange: Exchange) -> JobRecord | None:
        job_id = self.job_id(exchange)
        if job_id is None:
            return None
        with self._lock:
            return self._jobs.get((self.scope(exchange), self._family(exchange), job_id))

    def _family(self, exchange: Exchange) -> str | None:
        return _behaviours(self.spec).family(exchange.operation)

    def observe(self, exchange: Exchange) -> None:
        status = exchange.body_status
        job_id = self.job_id(exchange)
        if job_id is None or status not in ("success", "processing", "failed"):
            return
        with self._lock:
            record = self._jobs.setdefault((self.scope(exchange), self._family(exchange), job_id), JobRecord())
            if _behaviours(self.spec).kind(exchange.operation) == "generate":
                record.request = exchange
            if status == "processing" and isinstance(exchange.response_body.get("future_links"), list):
                record.future_links = list(exchange.response_body["future_links"])
            record.statuses.append(status)

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()


# -- the checks -------------------------------------------------------------------------------------


@dataclass
class CheckContext:
    ledger: JobLedger
    fetch: Callable[[str], HttpResponse] | None
    image_allowed: Callable[[str], bool]
    strict: bool | None
    spec: str
    image_cache: dict[str, tuple[int, int] | str] = field(default_factory=dict)


CheckFunction = Callable[[Exchange, CheckContext], Iterator[Violation]]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    code: str
    rule: str
    function: CheckFunction


CHECKS: dict[str, CheckSpec] = {}


def _check(code: str, rule: str) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        CHECKS[function.__name__] = CheckSpec(function.__name__, code, rule, function)
        return function

    return register


@lru_cache(maxsize=16)
def _document(spec: str) -> dict[str, Any]:
    return load_document(spec)


def _violation(check: str, expected: str, got: str, exchange: Exchange) -> Violation:
    spec = CHECKS[check]
    return Violation(check, spec.code, spec.rule, expected, got, exchange)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _job_request(exchange: Exchange, ctx: CheckContext) -> Exchange | None:
    """The request that created the job: this one for a generate operation, else the ledger's."""
    if _kind(exchange, ctx.spec) == "generate":
        return exchange
    record = ctx.ledger.get(exchange)
    return record.request if record is not None else None


def _requested_samples(exchange: Exchange, ctx: CheckContext) -> tuple[int | None, str]:
    if _kind(exchange, ctx.spec) == "generate":
        samples = exchange.requested("samples")
        return (samples if isinstance(samples, int) else None), f"samples={samples}"
    record = ctx.ledger.get(exchange)
    if record is not None and record.request is not None:
        samples = record.request.requested("samples")
        return ((samples if isinstance(samples, int) else None),
                f"samples={samples} in the job's {record.request.operation or 'generate'} request")
    meta = exchange.response_body.get("meta") if isinstance(exchange.response_body, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("n_samples"), int):
        return meta["n_samples"], f"meta.n_samples={meta['n_samples']}"
    return None, ""


@_check("MLC101", "a success has one output per requested sample")
def samples_match_outputs(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    status = exchange.body_status
    if status not in ("success", "processing"):
        return
    samples, source = _requested_samples(exchange, ctx)
    if samples is None:
        return
    body = exchange.response_body
    name = "output" if status == "success" else "future_links"
    urls = body.get(name)
    if status == "processing" and urls is None:
        return  # not promised at all: processing_names_job covers what is required
    if not isinstance(urls, list):
        yield _violation("samples_match_outputs", f"{_plural(samples, name[:-1] if name.endswith('s') else name)} "
                         f"in {name!r} ({source})", f"{name} = {_short(urls)}", exchange)
        return
    if len(urls) != samples:
        yield _violation("samples_match_outputs", f"{_plural(samples, 'URL')} in {name!r} ({source})",
                         f"{_plural(len(urls), 'URL')}: {_short(urls)}", exchange)


@_check("MLC102", "a processing body names its job: integer id, eta >= 0, fetch_result with that id")
def processing_names_job(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    if exchange.body_status != "processing":
        return
    body = exchange.response_body
    job_id = body.get("id")
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        yield _violation("processing_names_job", "an integer 'id' (the job to fetch)",
                         f"id = {_short(job_id)}" if "id" in body else "no 'id' field", exchange)
    eta = body.get("eta")
    if "eta" not in body or isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta >= 0:
        yield _violation("processing_names_job", "'eta' as a number of seconds >= 0",
                         f"eta = {_short(eta)}" if "eta" in body else "no 'eta' field", exchange)
    fetch_result = body.get("fetch_result")
    if not isinstance(fetch_result, str):
        yield _violation("processing_names_job", "'fetch_result' naming the fetch URL of the job",
                         f"fetch_result = {_short(fetch_result)}" if "fetch_result" in body else "no 'fetch_result' field",
                         exchange)
    elif isinstance(job_id, int):
        want = _fetch_path(exchange, ctx, job_id)
        if not urlsplit(fetch_result).path.rstrip("/").endswith(want):
            yield _violation("processing_names_job", f"fetch_result ending in {want}",
                             f"fetch_result = {fetch_result!r}", exchange)


def _fetch_path(exchange: Exchange, ctx: CheckContext, job_id: int) -> str:
    """The path a job's ``fetch_result`` must end in: its generate operation's declared fetch (by
    path id), else the family's fetch by path id, else just ``/<id>``."""
    index = _behaviours(ctx.spec)
    request = _job_request(exchange, ctx)
    link = index.fetch_link(index.family(exchange.operation), request.operation if request is not None else None)
    if link is None or link.id_in != "path":
        return f"/{job_id}"
    return link.request(job_id)[0].rstrip("/")


@_check("MLC103", "a finished job delivers the output URLs it promised in future_links")
def future_links_become_outputs(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    if exchange.body_status != "success":
        return
    record = ctx.ledger.get(exchange)
    if record is None or not record.future_links:
        return
    output = exchange.response_body.get("output")
    if output != record.future_links:
        yield _violation("future_links_become_outputs", f"output = {_short(record.future_links)} (the future_links "
                         f"of job {ctx.ledger.job_id(exchange)})", f"output = {_short(output)}", exchange)


@_check("MLC104", "a job never goes back: after success or failed it is never processing again")
def job_never_regresses(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    status = exchange.body_status
    if status not in ("processing", "success", "failed"):
        return
    record = ctx.ledger.get(exchange)
    if record is None or not record.statuses:
        return
    finished = [s for s in record.statuses if s in ("success", "failed")]
    if finished and status != finished[-1]:
        yield _violation("job_never_regresses", f"status {finished[-1]!r} again (job {ctx.ledger.job_id(exchange)} "
                         f"was already {finished[-1]}; history {record.statuses})", f"status {status!r}", exchange)


_META_ECHO = (("W", "width"), ("H", "height"), ("n_samples", "samples"), ("prompt", "prompt"),
              ("negative_prompt", "negative_prompt"), ("model_id", "model_id"), ("seed", "seed"),
              ("strength", "strength"), ("guidance_scale", "guidance_scale"))


def _same(a: Any, b: Any) -> bool:
    """Equal as an echo: integers exactly, floats to 1e-9 (relative), "0.5" as 0.5."""
    if type(a) is int and type(b) is int:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if isinstance(a, str) and isinstance(b, (int, float)) and a.strip().replace(".", "", 1).isdigit():
        return _same(float(a), b)
    return a == b


@_check("MLC105", "meta echoes the request (W, H, n_samples, prompt, model_id, seed, ...)")
def meta_echoes_request(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    if exchange.body_status not in ("success", "processing"):
        return
    meta = exchange.response_body.get("meta")
    if not isinstance(meta, dict):
        return
    request = _job_request(exchange, ctx)
    if request is None or not isinstance(request.request_body, dict):
        return
    sent = request.request_body
    wrong = []
    for meta_name, field_name in _META_ECHO:
        if meta_name not in meta:
            continue
        if field_name in sent or field_name in _DEFAULTS:
            want = request.requested(field_name)
            if want is None:
                continue  # null / absent without a default: the service chooses (e.g. a random seed)
            if field_name == "seed" and not (isinstance(want, int) and 0 <= want < 2**32):
                continue  # outside what a sampler holds, services normalise the seed (the mock wraps it)
            if not _same(want, meta[meta_name]):
                wrong.append((meta_name, want, meta[meta_name]))
    if wrong:
        yield _violation("meta_echoes_request",
                         ", ".join(f"meta.{m}={_short(w, 60)}" for m, w, _ in wrong),
                         ", ".join(f"meta.{m}={_short(g, 60)}" for m, _, g in wrong), exchange)


def image_size(content: bytes) -> tuple[int, int]:
    """(width, height) of a PNG/JPEG/WebP, or of a ``.base64`` file (optionally a data URI)."""
    data = content.strip()
    if data[:5] == b"data:":
        data = data.split(b",", 1)[1] if b"," in data else b""
    if not data.startswith((b"\x89PNG", b"\xff\xd8", b"RIFF", b"GIF8")):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not an image (neither image bytes nor base64)") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not a readable image ({exc})") from None


@_check("MLC106", "output URLs serve images of the requested size")
def outputs_are_images(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    if exchange.body_status != "success" or ctx.fetch is None:
        return
    output = exchange.response_body.get("output")
    if not isinstance(output, list):
        return
    request = _job_request(exchange, ctx)
    want = (request.requested("width"), request.requested("height")) if request is not None else None
    for url in output:
        if not isinstance(url, str) or not ctx.image_allowed(url):
            continue
        if url not in ctx.image_cache:
            try:
                answer = ctx.fetch(url)
            except OSError as exc:
                ctx.image_cache[url] = f"no answer ({exc})"
            else:
                if answer.status != 200:
                    ctx.image_cache[url] = f"HTTP {answer.status}: {answer.text[:120]!r}"
                else:
                    try:
                        ctx.image_cache[url] = image_size(answer.content)
                    except ValueError as exc:
                        ctx.image_cache[url] = str(exc)
        got = ctx.image_cache[url]
        expected = f"an image of {want[0]}x{want[1]}" if want and all(isinstance(v, int) for v in want) else "an image"
        if isinstance(got, str):
            yield _violation("outputs_are_images", f"{url} serves {expected}", got, exchange)
        elif want and all(isinstance(v, int) for v in want) and tuple(got) != tuple(want):
            yield _violation("outputs_are_images", f"{url} serves {expected}", f"an image of {got[0]}x{got[1]}",
                             exchange)


def _message_problem(message: Any, allow_object: bool) -> str | None:
    if isinstance(message, str):
        return None if message.strip() else "an empty message"
    if allow_object and isinstance(message, dict):
        if not message:
            return "an empty field-error object"
        for name, sentences in message.items():
            if not isinstance(sentences, list) or not sentences or not all(isinstance(s, str) and s for s in sentences):
                return f"field {name!r} without a list of sentences: {_short(sentences, 80)}"
        return None
    return f"message = {_short(message, 80)}"


@_check("MLC107", "error and failed bodies carry a message saying what went wrong")
def errors_have_message(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    status = exchange.body_status
    body = exchange.response_body
    is_error = status in ("error", "failed") or (exchange.status >= 400 and isinstance(body, dict))
    if not is_error:
        return
    if "message" not in body:
        yield _violation("errors_have_message", "a 'message' (a sentence, or field -> sentences)",
                         f"no 'message' in {_short(body, 200)}", exchange)
        return
    problem = _message_problem(body["message"], allow_object=status != "failed")
    if problem:
        yield _violation("errors_have_message", "a non-empty 'message' (a sentence, or field -> sentences)",
                         problem, exchange)


def _request_problems(exchange: Exchange, ctx: CheckContext) -> list[str] | None:
    """Why the request is invalid per the spec ([] when valid); None when it cannot be judged."""
    document = _document(ctx.spec)
    op = _behaviours(ctx.spec).operations.get(exchange.operation)
    if op is None or op.body_schema is None:
        return None
    found = []
    for name, schema in op.path_params.items():
        value = exchange.path_params.get(name, "")
        found += [f"path {name}: {p.message}" for p in problems(value, schema, document=document)]
    if not isinstance(exchange.request_body, dict):
        return found + ["the body is not a JSON object"]
    found += [f"{p.pointer or '/'}: {p.message}" for p in problems(exchange.request_body, op.body_schema,
                                                                   document=document)]
    return found


@_check("MLC108", "a strict server rejects invalid input; no server answers valid input with field errors")
def input_validation_matches_spec(exchange: Exchange, ctx: CheckContext) -> Iterator[Violation]:
    reasons = _request_problems(exchange, ctx)
    if reasons is None:
        return
    body = exchange.response_body
    rejected = exchange.status >= 400 or exchange.body_status == "error"
    field_errors = isinstance(body, dict) and isinstance(body.get("message"), dict)
    if reasons and ctx.strict and not rejected:
        yield _violation("input_validation_matches_spec",
                         f"an error answer: the request is invalid ({'; '.join(reasons[:3])})",
                         f"HTTP {exchange.status} with status {exchange.body_status!r}", exchange)
    if not reasons and field_errors:
        yield _violation("input_validation_matches_spec", "no field errors: the request is valid per the spec",
                         f"field errors {_short(body['message'], 200)}", exchange)


# -- running them -----------------------------------------------------------------------------------


class ContractChecker:
    """Runs the checks over exchanges, remembering jobs across them (one per test run)."""

    def __init__(self, *, fetch: Callable[[str], HttpResponse] | None = None,
                 image_hosts: Mapping[str, bool] | set[str] | None = None, any_image_host: bool = False,
                 strict: bool | None = None, spec: str = SPEC_FILE, enabled: set[str] | None = None):
        self.ledger = JobLedger(spec)
        hosts = set(image_hosts or ())
        self.context = CheckContext(
            ledger=self.ledger,
            fetch=fetch,
            image_allowed=lambda url: any_image_host or urlsplit(url).netloc in hosts,
            strict=strict,
            spec=spec,
        )
        if enabled is None:  # a foreign spec (no generate/fetch declared): none of these checks apply
            enabled = set() if _behaviours(spec).foreign else set(CHECKS)
        self.enabled = set(enabled)
        unknown = self.enabled - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown check(s) {sorted(unknown)}; known: {sorted(CHECKS)}")
        self._lock = threading.Lock()

    @classmethod
    def for_target(cls, target: Any, **kwargs: Any) -> "ContractChecker":
        """Fetch images through the target's transport, only from the target's own host (or any
        host for the real API, whose images live on a CDN)."""
        transport = target.transport

        def fetch(url: str) -> HttpResponse:
            return transport.request("GET", url)

        netloc = urlsplit(target.base_url).netloc
        if getattr(target, "spec", None):
            kwargs.setdefault("spec", target.spec)
        return cls(fetch=fetch, image_hosts={netloc}, any_image_host=bool(getattr(target, "is_real", False)),
                   strict=target.strict, **kwargs)

    def run(self, exchange: Exchange, only: str | None = None, observe: bool = True) -> list[Violation]:
        """Violations of one exchange; then remember it (unless ``observe`` is False)."""
        with self._lock:
            found: list[Violation] = []
            for name, spec in CHECKS.items():
                if name not in self.enabled or (only is not None and name != only):
                    continue
                found.extend(spec.function(exchange, self.context))
            if observe:
                self.ledger.observe(exchange)
            return found

    def assert_ok(self, exchange: Exchange | HttpResponse) -> Exchange:
        """The exchange, if every enabled check passes; else ``ContractViolation`` explaining each."""
        __tracebackhide__ = True
        if isinstance(exchange, HttpResponse):
            exchange = Exchange.from_http(exchange, self.context.spec)
        violations = self.run(exchange)
        if violations:
            raise ContractViolation(violations)
        return exchange

    def reset(self) -> None:
        with self._lock:
            self.ledger.clear()
            self.context.image_cache.clear()
