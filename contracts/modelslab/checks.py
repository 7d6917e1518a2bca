"""What the schema cannot say: the semantic contract of the inpaint API, as checks.

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

from contracts.core.curl import curl_command
from contracts.core.redact import redact
from contracts.core.schema_validation import problems
from contracts.core.spec import SPEC_FILE, Operation, deref, load_document, operations, relative_base_path
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
    """One request and its answer, parsed; ``operation`` is the spec's operationId (or "")."""

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

    @classmethod
    def from_http(cls, answer: HttpResponse, spec: str = SPEC_FILE) -> "Exchange":
        try:
            request_body = json.loads(answer.request_body) if answer.request_body else None
        except (ValueError, UnicodeDecodeError):
            request_body = None
        exchange = cls(answer.method, answer.url, request_body, answer.status, answer.json_or_none(),
                       dict(answer.request_headers), dict(answer.headers),
                       raw_request_body=answer.request_body)
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
        if isinstance(value, str) and name in _numeric_fields() and value.strip().lstrip("+-").isdigit():
            return int(value)
        if value is None:
            return _DEFAULTS.get(name)
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

@lru_cache(maxsize=8)
def _spec_data(spec: str) -> tuple[dict[str, Any], dict[str, Operation], str]:
    """The spec, its operations and base path, read once per process (checks run per exchange)."""
    document = load_document(spec)
    return document, operations(document), relative_base_path(document)


@lru_cache(maxsize=8)
def _numeric_fields(spec: str = SPEC_FILE) -> frozenset[str]:
    """Inpaint fields the spec types as numbers (only these may arrive as ``"512"``)."""
    document, by_id, _ = _spec_data(spec)
    schema = deref(by_id["inpaint"].body_schema or {}, document) if "inpaint" in by_id else {}
    found = set()
    for name, sub in schema.get("properties", {}).items():
        kinds = {b.get("type") for b in sub.get("oneOf", sub.get("anyOf", [sub]))}
        if kinds & {"integer", "number"}:
            found.add(name)
    return frozenset(found)


def operation_for(method: str, url: str, spec: str = SPEC_FILE) -> tuple[str, dict[str, str]]:
    """(operationId, path params) of the spec operation a request URL names, or ("", {})."""
    _, by_id, base = _spec_data(spec)
    ops = list(by_id.values())
    path = urlsplit(url).path
    index = path.find(base)
    if index >= 0:
        path = path[index + len(base):]
    for op in ops:
        match = op.path_regex.match(path)
        if match and op.method == method.upper():
            return op.operation_id, match.groupdict()
    return "", {}


# -- state across exchanges -------------------------------------------------------------------------


@dataclass
class JobRecord:
    request: Exchange | None = None
    future_links: list[str] | None = None
    statuses: list[str] = field(default_factory=list)


class JobLedger:
    """What each job (by server and key) was promised and went through, for stateful checks."""

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, Any], JobRecord] = {}
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
            return self._jobs.get((self.scope(exchange), job_id))

    def observe(self, exchange: Exchange) -> None:
        status = exchange.body_status
        job_id = self.job_id(exchange)
        if job_id is None or status not in ("success", "processing", "failed"):
            return
        with self._lock:
            record = self._jobs.setdefault((self.scope(exchange), job_id), JobRecord())
            if exchange.operation == "inpaint":
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


def _violation(check: str, expected: str, got: str, exchange: Exchange) -> Violation:
    spec = CHECKS[check]
    return Violation(check, spec.code, spec.rule, expected, got, exchange)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _requested_samples(exchange: Exchange, ctx: CheckContext) -> tuple[int | None, str]:
    if exchange.operation == "inpaint":
        samples = exchange.requested("samples")
        return (samples if isinstance(samples, int) else None), f"samples={samples}"
    record = ctx.ledger.get(exchange)
    if record is not None and record.request is not None:
        samples = record.request.requested("samples")
        return (samples if isinstance(samples, int) else None), f"samples={samples} in the job's inpaint request"
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
    elif isinstance(job_id, int) and not urlsplit(fetch_result).path.rstrip("/").endswith(f"/fetch/{job_id}"):
        yield _violation("processing_names_job", f"fetch_result ending in /fetch/{job_id}",
                         f"fetch_result = {fetch_result!r}", exchange)


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
    request = exchange if exchange.operation == "inpaint" else None
    if request is None:
        record = ctx.ledger.get(exchange)
        request = record.request if record is not None else None
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
    request = exchange if exchange.operation == "inpaint" else None
    if request is None:
        record = ctx.ledger.get(exchange)
        request = record.request if record is not None else None
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
    document, by_id, _ = _spec_data(ctx.spec)
    op = by_id.get(exchange.operation)
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
        self.ledger = JobLedger()
        hosts = set(image_hosts or ())
        self.context = CheckContext(
            ledger=self.ledger,
            fetch=fetch,
            image_allowed=lambda url: any_image_host or urlsplit(url).netloc in hosts,
            strict=strict,
            spec=spec,
        )
        self.enabled = set(CHECKS) if enabled is None else set(enabled)
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
