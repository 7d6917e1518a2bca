"""Hypothesis strategies for the image API's requests and responses, built from the spec.

Every operation the spec declares as ``generate`` (text2img, img2img, inpaint of any family:
``x-mock-behaviour``, see ``contracts.core.behaviours``) has bodies drawn from its own schema:
a text2img body has no image fields, a realtime body no ``model_id``; every ``fetch`` operation
has requests that name a job by a path id or a body ``request_id``. Nothing here names an
operationId; ``inpaint_bodies`` and friends are the same strategies for the spec's (first)
inpaint operation.

Requests come in three kinds, because clients send three kinds: strictly valid bodies, the
*sloppy* bodies real clients send and the real service accepts (``"512"`` for numbers,
booleans for yes/no flags, nulls, ``num_inference_steps``, unknown fields), and bodies that are
invalid whatever the mode (a width of 2000, a missing required image), each tagged with the
field that is wrong (derived from the schema's bounds, enums, formats and required list). Responses cover every branch of the 200 ``oneOf``: success, processing,
error with a string ``message`` or with Laravel-style field errors, and failed; ``job_stories``
strings them into what a polling client sees.

Two levels for responses: ``"spec"`` is anything the schema allows (a success without
``output``, an empty ``output``, extra fields such as the real service's ``messege``), for
fuzzing clients; ``"contract"`` additionally obeys ``contracts.modelslab.checks`` (a processing body names
its id, ``eta >= 0``, ...), for testing code that may assume a well-behaved server.

hypothesis-jsonschema does not work with current Hypothesis, so ``from_schema`` converts the
JSON Schema subset the spec uses; Schemathesis's own generation is available through
``request_cases``. Every strategy shrinks toward the smallest body (optional fields dropped).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from contracts.core.extras import require

require("hypothesis", "contracts.modelslab.strategies")

from hypothesis import strategies as st  # noqa: E402

from contracts.core.behaviours import FetchOp, GenerateOp, spec_behaviours
from contracts.core.spec import SPEC_FILE, deref, load_document, operations

__all__ = [
    "InvalidBody",
    "RESPONSE_VARIANTS",
    "api_responses",
    "error_responses",
    "failed_responses",
    "fetch_bodies",
    "fetch_ids",
    "fetch_operations",
    "fetch_requests",
    "field_error_responses",
    "from_schema",
    "generate_bodies",
    "generate_operations",
    "inpaint_bodies",
    "invalid_generate_bodies",
    "invalid_inpaint_bodies",
    "job_stories",
    "output_urls",
    "processing_responses",
    "request_cases",
    "response_branches",
    "response_for",
    "sloppy_generate_bodies",
    "sloppy_inpaint_bodies",
    "success_responses",
]

Level = Literal["spec", "contract"]

#: Component schema of each response variant (the branches of the 200 ``oneOf``).
RESPONSE_VARIANTS = {
    "success": "ImageGenerationSuccessResponse",
    "processing": "ImageGenerationProcessingResponse",
    "error": "ImageGenerationErrorResponse",
    "field_error": "ImageGenerationFieldErrorResponse",
    "failed": "ImageGenerationFailedResponse",
}

_MODELS = ("pony-realism", "pony_realism")
_IMAGES = (
    "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png",
    "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo_mask.png",
)
_HOSTS = ("pub-3626123a908346a7a8be8d9295f44e26.r2.dev", "modelslab-bom.s3.amazonaws.com",
          "cdn2.stablediffusionapi.com", "127.0.0.1:4010", "example.com")
_PROMPT_WORDS = ("a", "cat", "sitting", "on", "bench", "portrait", "neon", "city", "forest", "sunset")
#: Fields the real service sends that the spec does not list (MODELSLAB-FACTS §4, §6).
_REAL_EXTRAS = {"messege": "Try to fetch request after seconds estimated", "tips": "please wait for 30 seconds",
                "tip_1": "Your image is processing in background"}
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


# -- the spec -------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _document(spec: str) -> dict[str, Any]:
    return load_document(spec)


def _component(name: str, spec: str = SPEC_FILE) -> dict[str, Any]:
    document = _document(spec)
    return deref(document["components"]["schemas"][name], document)


def _body_schema(operation_id: str, spec: str = SPEC_FILE) -> dict[str, Any]:
    document = _document(spec)
    return deref(operations(document)[operation_id].body_schema or {}, document)


# -- JSON Schema -> strategy ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def uris() -> st.SearchStrategy[str]:
    """URLs shaped like the ones the service hands out, plus some odd but valid ones."""
    uuid = st.uuids().map(str)
    name = st.builds(lambda u, i, ext: f"{u}-{i}.{ext}", uuid, st.integers(0, 3),
                     st.sampled_from(("png", "jpg", "webp", "base64")))
    plain = st.builds(lambda scheme, host, path: f"{scheme}://{host}/generations/{path}",
                      st.sampled_from(("https", "http")), st.sampled_from(_HOSTS), name)
    odd = st.builds(lambda host, q: f"https://{host}/x?{q}", st.sampled_from(_HOSTS),
                    st.text(alphabet=string.ascii_letters + "=&", max_size=8))
    return st.one_of(plain, odd)


def _integers(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        lo = math.floor(schema["exclusiveMinimum"]) + 1
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        hi = math.ceil(schema["exclusiveMaximum"]) - 1
    lo = None if lo is None else math.ceil(lo)
    hi = None if hi is None else math.floor(hi)
    step = schema.get("multipleOf")
    if isinstance(step, int) and step > 1:
        k_lo = None if lo is None else -(-lo // step)
        k_hi = None if hi is None else hi // step
        return st.integers(k_lo, k_hi).map(lambda k: k * step)
    return st.integers(lo, hi)


def _numbers(schema: dict[str, Any]) -> st.SearchStrategy[float | int]:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    ex_lo = isinstance(schema.get("exclusiveMinimum"), (int, float))
    ex_hi = isinstance(schema.get("exclusiveMaximum"), (int, float))
    if ex_lo:
        lo = schema["exclusiveMinimum"]
    if ex_hi:
        hi = schema["exclusiveMaximum"]
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False, exclude_min=ex_lo, exclude_max=ex_hi)
    ints = st.integers(None if lo is None else math.floor(lo) + (1 if ex_lo or lo != math.floor(lo) else 0),
                       None if hi is None else math.ceil(hi) - (1 if ex_hi or hi != math.ceil(hi) else 0))
    if lo is not None and hi is not None and math.floor(hi) < math.ceil(lo):
        return floats
    return st.one_of(ints, floats)


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("format") == "uri":
        return uris()
    lo = schema.get("minLength", 0)
    hi = schema.get("maxLength")
    if "pattern" in schema:
        regex = st.from_regex(schema["pattern"], fullmatch=True)
        return regex.filter(lambda s: len(s) >= lo and (hi is None or len(s) <= hi))
    return st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=lo,
                   max_size=min(hi if hi is not None else 20, max(lo, 20)))


def from_schema(schema: dict[str, Any], *, extra_properties: st.SearchStrategy[dict[str, Any]] | None = None,
                _depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for values valid for a (dereferenced) schema of the subset the spec uses."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:  # a branch keeps what its parent says beside it (``type: string``)
            parent = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
            return st.one_of([from_schema({**parent, **b}, extra_properties=extra_properties, _depth=_depth + 1)
                              for b in schema[combinator]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}, _depth=_depth) for k in kind])
    if kind is None:
        kind = "object" if "properties" in schema else None
    if kind is None:
        leaves = st.one_of(st.none(), st.booleans(), st.integers(), _TEXT)
        return leaves if _depth > 2 else st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                                                      | st.dictionaries(_TEXT, inner, max_size=3), max_leaves=5)
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return _integers(schema)
    if kind == "number":
        return _numbers(schema)
    if kind == "string":
        return _strings(schema)
    if kind == "array":
        items = from_schema(schema.get("items", {}), _depth=_depth + 1)
        lo = schema.get("minItems", 0)
        return st.lists(items, min_size=lo, max_size=min(schema.get("maxItems", lo + 4), lo + 4))
    properties = schema.get("properties", {})
    required = [n for n in schema.get("required", []) if n in properties]
    fixed = {n: from_schema(properties[n], _depth=_depth + 1) for n in required}
    optional = {n: from_schema(s, _depth=_depth + 1) for n, s in properties.items() if n not in required}
    base = st.fixed_dictionaries(fixed, optional=optional)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not properties:
        names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)
        return st.dictionaries(names, from_schema(extra, _depth=_depth + 1), max_size=3)
    if extra is not False and extra_properties is not None:
        return st.builds(lambda b, e: {**{k: v for k, v in e.items() if k not in properties}, **b},
                         base, extra_properties)
    return base


# -- requests -------------------------------------------------------------------------------------

_PROMPTS = st.lists(st.sampled_from(_PROMPT_WORDS), min_size=1, max_size=6).map(" ".join)


def generate_operations(spec: str = SPEC_FILE) -> list[str]:
    """operationIds of every operation the spec declares as ``generate``, in spec order."""
    return list(spec_behaviours(spec).generate)


def fetch_operations(spec: str = SPEC_FILE) -> list[str]:
    """operationIds of every operation the spec declares as ``fetch``, in spec order."""
    return list(spec_behaviours(spec).fetch)


def _generate_op(operation: str | None, spec: str) -> GenerateOp:
    """A generate operation by id; ``None`` is the spec's first inpaint (else first generate) one."""
    index = spec_behaviours(spec)
    if operation is None:
        ops = list(index.generate.values())
        if not ops:
            raise ValueError(f"{spec} declares no generate operation (x-mock-behaviour kind: generate)")
        return next((g for g in ops if g.render == "inpaint"), ops[0])
    try:
        return index.generate[operation]
    except KeyError:
        raise ValueError(f"{operation!r} is not a generate operation of {spec}; those are: "
                         f"{', '.join(index.generate) or 'none'}") from None


def _image_strategy(index: int) -> st.SearchStrategy[str]:
    return st.just(_IMAGES[min(index, len(_IMAGES) - 1)])


@lru_cache(maxsize=64)
def generate_bodies(operation: str | None = None, key: str | st.SearchStrategy[str] = "test-key", *,
                    realistic: bool = True, spec: str = SPEC_FILE) -> st.SearchStrategy[dict[str, Any]]:
    """Strictly valid bodies of one generate operation (``None``: the spec's inpaint). ``realistic``
    uses a known model id (where the operation takes one), the docs' image URLs for the image
    fields it declares, and readable prompts."""
    op = _generate_op(operation, spec)
    schema = op.body_schema
    properties = dict(schema.get("properties", {}))
    overrides: dict[str, st.SearchStrategy[Any]] = {
        "key": key if isinstance(key, st.SearchStrategy) else st.just(key),
    }
    if realistic:
        overrides.update({
            "model_id": st.sampled_from(_MODELS),
            "prompt": _PROMPTS,
            "negative_prompt": _PROMPTS,
            # Outside the mock these would be called; keep them on loopback and harmless.
            "webhook": st.just("http://127.0.0.1:9/hook"),
            "track_id": st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12),
            "seed": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
        })
        overrides.update({name: _image_strategy(i) for i, name in enumerate(op.images)})
    overrides = {n: v for n, v in overrides.items() if n in properties}
    required = set(schema.get("required", []))
    fixed = {n: overrides[n] if n in overrides else from_schema(s) for n, s in properties.items() if n in required}
    optional = {n: overrides[n] if n in overrides else from_schema(s) for n, s in properties.items() if n not in required}
    if realistic:
        optional.pop("webhook", None)  # a webhook makes the mock call out; opt in explicitly
    return st.fixed_dictionaries(fixed, optional=optional)


def inpaint_bodies(key: str | st.SearchStrategy[str] = "test-key", *, realistic: bool = True,
                   spec: str = SPEC_FILE) -> st.SearchStrategy[dict[str, Any]]:
    """Strictly valid bodies of the spec's inpaint operation (``generate_bodies(None, ...)``)."""
    return generate_bodies(None, key, realistic=realistic, spec=spec)


_YES_NO_TO_BOOL = {"yes": True, "no": False}
_UNKNOWN_FIELDS = {"enhance_style": "cinematic", "highres_fix": "no", "ip_adapter_scale": "0.6",
                   "file_prefix": "my-prefix"}
_NULLABLE_OPTIONAL = ("negative_prompt", "webhook", "track_id")


def _types(schema: dict[str, Any]) -> set[Any]:
    kinds: set[Any] = set()
    for branch in schema.get("oneOf", schema.get("anyOf", [schema])):
        if isinstance(branch, dict):
            kind = branch.get("type", schema.get("type"))
            kinds.update(kind if isinstance(kind, list) else [kind])
    return kinds


@st.composite
def sloppy_generate_bodies(draw: st.DrawFn, operation: str | None = None, key: str = "test-key",
                           spec: str = SPEC_FILE) -> dict[str, Any]:
    """Bodies like the docs' example: valid once compat mode coerces them, invalid to a strict reader.

    At least one sloppy form is always present: numbers as strings, booleans for yes/no flags,
    ``null`` for optional strings, ``num_inference_steps`` for ``steps``, an unknown field (each
    only where the operation's schema makes it sloppy rather than valid or wrong).
    """
    op = _generate_op(operation, spec)
    body = draw(generate_bodies(op.operation_id, key, spec=spec))
    schema = op.body_schema.get("properties", {})
    required = set(op.body_schema.get("required", []))
    numeric_fields = sorted(n for n, s in schema.items() if s.get("type") in ("integer", "number"))
    flags = sorted(n for n, s in schema.items() if set(s.get("enum", ())) == {"yes", "no"} and _types(s) == {"string"})
    nullable = sorted(n for n in _NULLABLE_OPTIONAL if n in schema and n not in required and None not in _types(schema[n])
                      and "null" not in _types(schema[n]))
    choices = ["string_numbers"]
    if flags:
        choices.append("bool_flags")
    if nullable:
        choices.append("nulls")
    if op.body_schema.get("additionalProperties") is False:  # else an extra field is simply valid
        if "steps" in schema and "num_inference_steps" not in schema:
            choices.append("steps_alias")
        choices.append("unknown")
    kinds = draw(st.sets(st.sampled_from(choices), min_size=1))
    if "string_numbers" in kinds:
        numeric = [n for n in numeric_fields if n in body and isinstance(body[n], (int, float))
                   and not isinstance(body[n], bool) and abs(body[n]) < 10**18]  # compat reads up to 18 digits
        if not numeric:
            name = next((n for n in ("width", "samples") if n in numeric_fields), numeric_fields[0] if numeric_fields else None)
            if name is not None:
                body[name] = int(schema[name].get("default", schema[name].get("minimum", 1)))
                numeric = [name]
        for name in draw(st.sets(st.sampled_from(sorted(numeric)), min_size=1)) if numeric else ():
            body[name] = str(body[name])
    if "bool_flags" in kinds:
        for name in draw(st.sets(st.sampled_from(flags), min_size=1)):
            body[name] = _YES_NO_TO_BOOL[body.get(name, draw(st.sampled_from(("yes", "no"))))]
    if "nulls" in kinds:
        for name in draw(st.sets(st.sampled_from(nullable), min_size=1)):
            body[name] = None
    if "steps_alias" in kinds:
        body["num_inference_steps"] = body.pop("steps", draw(st.integers(1, 100)))
    if "unknown" in kinds:
        name = draw(st.sampled_from(sorted(n for n in _UNKNOWN_FIELDS if n not in schema) or ["file_prefix_x"]))
        body[name] = _UNKNOWN_FIELDS.get(name, "x")
    return body


def sloppy_inpaint_bodies(key: str = "test-key", spec: str = SPEC_FILE) -> st.SearchStrategy[dict[str, Any]]:
    """``sloppy_generate_bodies`` of the spec's inpaint operation."""
    return sloppy_generate_bodies(None, key, spec)


@dataclass(frozen=True)
class InvalidBody:
    """A body that no mode can accept, and the field a correct server must blame."""

    body: dict[str, Any]
    field: str
    why: str


def _bad_values(name: str, schema: dict[str, Any]) -> tuple[tuple[Any, ...], str] | None:
    """Values of a property that are invalid in strict *and* compat mode, and why; None when the
    schema gives no such value (free text, unions, a bound the service caps instead of refusing)."""
    kinds = _types(schema)
    if len(kinds) != 1 or "oneOf" in schema or "anyOf" in schema:
        return None
    kind = next(iter(kinds))
    if kind in ("integer", "number"):
        lo, hi, step = schema.get("minimum"), schema.get("maximum"), schema.get("multipleOf")
        bad: list[Any] = ["wide"]
        parts = []
        if isinstance(lo, (int, float)) and lo > -(2**53):
            bad.append(lo - (step if isinstance(step, (int, float)) and step >= 1 else 1))
            parts.append(f">= {lo}")
        if isinstance(hi, (int, float)) and hi < 2**53 and not schema.get("x-mock-clamp"):
            bad.append(hi + (step if isinstance(step, (int, float)) and step >= 1 else 1) * 4)
            parts.append(f"<= {hi}")
        if isinstance(step, int) and step > 1 and isinstance(lo, (int, float)):
            bad.append(int(lo) + step + 3 if (int(lo) + step + 3) % step else int(lo) + step + 1)
            parts.append(f"a multiple of {step}")
        return tuple(bad), f"not a number {' and '.join(parts)}".rstrip() if parts else "not a number"
    if kind == "string" and "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return ("maybe", "on-ish"), f"not one of {', '.join(schema['enum'])}"
    if kind == "string" and schema.get("format") == "uri" and name != "webhook":
        return ("not a url", "::::"), "not a URI"
    return None


@st.composite
def invalid_generate_bodies(draw: st.DrawFn, operation: str | None = None, key: str = "test-key",
                            spec: str = SPEC_FILE) -> InvalidBody:
    """One thing wrong in an otherwise valid body of a generate operation: a value outside what
    its schema allows, or a required field (other than the key) missing."""
    op = _generate_op(operation, spec)
    body = draw(generate_bodies(op.operation_id, key, spec=spec))
    properties = op.body_schema.get("properties", {})
    candidates = {n: bad for n, s in properties.items() if n != "key" and (bad := _bad_values(n, s)) is not None}
    missing = sorted(n for n in op.body_schema.get("required", []) if n != "key")
    if candidates and (not missing or draw(st.booleans())):
        field = draw(st.sampled_from(sorted(candidates)))
        values, why = candidates[field]
        body[field] = draw(st.sampled_from(values))
        return InvalidBody(body, field, f"{field}={body[field]!r} is {why}")
    field = draw(st.sampled_from(missing))
    del body[field]
    return InvalidBody(body, field, f"required field {field} is missing")


def invalid_inpaint_bodies(key: str = "test-key", spec: str = SPEC_FILE) -> st.SearchStrategy[InvalidBody]:
    """``invalid_generate_bodies`` of the spec's inpaint operation."""
    return invalid_generate_bodies(None, key, spec)


def fetch_ids() -> st.SearchStrategy[str]:
    """Path ids as the spec types them: 1-18 digits."""
    return st.integers(1, 10**18 - 1).map(str)


def fetch_bodies(key: str = "test-key", *, by_request_id: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    if by_request_id:
        return st.builds(lambda i: {"key": key, "request_id": i}, fetch_ids())
    return st.just({"key": key})


def fetch_requests(operation: str, key: str = "test-key", ids: st.SearchStrategy[Any] | None = None,
                   spec: str = SPEC_FILE) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(path under the base path, body) of one fetch operation, naming a job by the id the
    operation declares: in the path (``/fetch/{id}``) or in the body (``request_id``)."""
    index = spec_behaviours(spec)
    if operation not in index.fetch:
        raise ValueError(f"{operation!r} is not a fetch operation of {spec}; those are: "
                         f"{', '.join(index.fetch) or 'none'}")
    op: FetchOp = index.fetch[operation]
    return st.builds(lambda job: op.request(job, {"key": key}), ids if ids is not None else fetch_ids())


def request_cases(operation_id: str, *, negative: bool = False, spec: str = SPEC_FILE):
    """Schemathesis ``Case`` objects for one operation, from Schemathesis's own generator."""
    import schemathesis
    from schemathesis import GenerationMode

    from contracts.core.spec import spec_path

    schema = schemathesis.openapi.from_path(str(spec_path(spec)))
    op = operations(_document(spec))[operation_id]
    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    return schema[op.path][op.method].as_strategy(generation_mode=mode)


# -- responses ------------------------------------------------------------------------------------


def output_urls(min_size: int = 0, max_size: int = 4) -> st.SearchStrategy[list[str]]:
    return st.lists(uris(), min_size=min_size, max_size=max_size, unique=True)


def _extras() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(sorted(_REAL_EXTRAS)), _TEXT, max_size=2)


def _variant_of(branch: dict[str, Any]) -> str | None:
    status = (branch.get("properties") or {}).get("status") or {}
    values = status.get("enum") or ([status["const"]] if "const" in status else [])
    if len(values) != 1 or values[0] not in ("success", "processing", "error", "failed"):
        return None
    message = (branch.get("properties") or {}).get("message") or {}
    return "field_error" if values[0] == "error" and message.get("type") == "object" else values[0]


@lru_cache(maxsize=64)
def response_branches(operation: str, spec: str = SPEC_FILE) -> dict[str, dict[str, Any]]:
    """The 200 body schema of each variant an operation answers with (the branches of its ``oneOf``,
    told apart by ``status`` and the type of ``message``), dereferenced."""
    document = _document(spec)
    op = operations(document)[operation]
    media = deref(op.responses.get("200", {}), document).get("content", {}).get("application/json", {})
    schema = media.get("schema") or {}
    found: dict[str, dict[str, Any]] = {}
    for branch in schema.get("oneOf", schema.get("anyOf", [schema])):
        variant = _variant_of(branch) if isinstance(branch, dict) else None
        if variant is not None and variant not in found:
            found[variant] = branch
    return found


@lru_cache(maxsize=64)
def response_for(variant: str, level: Level = "spec", spec: str = SPEC_FILE,
                 operation: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies of one variant (a key of ``RESPONSE_VARIANTS``) of ``operation`` (default: the
    spec's components of those names); built once, then reused."""
    if operation is None:
        schema = _component(RESPONSE_VARIANTS[variant], spec)
    else:
        branches = response_branches(operation, spec)
        if variant not in branches:
            raise ValueError(f"{operation} has no {variant!r} answer; it has: {', '.join(branches) or 'none'}")
        schema = branches[variant]
    raw = from_schema(schema, extra_properties=_extras() if level == "spec" else None)
    if level == "spec":
        if variant == "processing":  # "Estimated time ... in seconds": never negative, even here
            return raw.map(lambda b: {**b, "eta": abs(b["eta"])} if "eta" in b else b)
        if variant == "success":  # an empty output is the edge clients trip on: draw it often
            outputs = st.one_of(st.just([]), output_urls(1, 4))
            return st.builds(lambda b, out: {**b, "output": out} if "output" in b else b, raw, outputs)
        return raw
    return _contract_refined(variant, raw, _fetch_url_template(spec, operation))


def _fetch_url_template(spec: str, operation: str | None) -> str:
    """``https://<server>/<fetch path with {id}>`` for the jobs of ``operation``'s family: what its
    processing bodies' ``fetch_result`` names (the declared fetch, by path id)."""
    index = spec_behaviours(spec)
    family = index.family(operation) if operation else None
    link = index.fetch_link(family, operation) if operation else None
    if link is None:
        link = next((f for f in index.fetch.values() if f.id_in == "path"), None)
    servers = [srv.get("url", "") for srv in _document(spec).get("servers", []) if isinstance(srv, dict)]
    root = next((u for u in servers if "://" in u), "https://modelslab.com/api/v6/images").rstrip("/")
    path = link.op.path.replace("{" + link.id_name + "}", "{id}") if link is not None else "/fetch/{id}"
    return root + path


def _contract_refined(variant: str, raw: st.SearchStrategy[dict[str, Any]],
                      fetch_url: str = "https://modelslab.com/api/v6/images/fetch/{id}") -> st.SearchStrategy[dict[str, Any]]:
    ids = st.integers(1, 10**12)
    if variant == "processing":
        @st.composite
        def processing(draw: st.DrawFn) -> dict[str, Any]:
            body = draw(raw)
            job_id = draw(ids)
            links = draw(output_urls(1, 4))
            body.update(id=job_id, eta=draw(st.one_of(st.integers(0, 200), st.floats(0, 200))),
                        fetch_result=fetch_url.replace("{id}", str(job_id)),
                        output=[], future_links=links)
            return body
        return processing()
    if variant == "success":
        return st.builds(lambda b, i, out: {**b, "id": i, "output": out}, raw, ids, output_urls(1, 4))
    sentence = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() != "")
    if variant == "failed":
        return st.builds(lambda b, i, m: {**b, "id": i, "message": m}, raw, ids, sentence)
    if variant == "error":
        return st.builds(lambda b, m: {**b, "message": m}, raw, sentence)
    if variant == "field_error":
        fields = st.dictionaries(st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12),
                                 st.lists(sentence, min_size=1, max_size=2), min_size=1, max_size=3)
        return st.builds(lambda b, m: {**b, "message": m}, raw, fields)
    return raw


def success_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    return response_for("success", level)


def processing_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    return response_for("processing", level)


def error_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    return response_for("error", level)


def field_error_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    return response_for("field_error", level)


def failed_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    return response_for("failed", level)


@lru_cache(maxsize=8)
def api_responses(level: Level = "spec") -> st.SearchStrategy[dict[str, Any]]:
    """Any 200 body the spec allows (success first: it is what examples shrink toward)."""
    return st.one_of([response_for(v, level) for v in RESPONSE_VARIANTS])


@lru_cache(maxsize=8)
def _endings(level: Level) -> st.SearchStrategy[dict[str, Any] | None]:
    return st.one_of(st.none(), *(response_for(v, level) for v in ("success", "failed", "error", "field_error")))


@st.composite
def job_stories(draw: st.DrawFn, level: Level = "spec", max_polls: int = 8,
                coherent: bool = True) -> list[dict[str, Any]]:
    """What a client sees for one job: the inpaint answer, then one answer per fetch.

    After the last element the job stays as it is (a server answering the same again), so a
    story ending in ``processing`` is a job that never finishes, and one ending in ``failed`` is
    a job that stays failed. With ``coherent`` (the default) an accepted job always has an id,
    the polls share it and a success delivers the ``future_links`` it promised; without it every
    answer is drawn on its own (ids may be missing or change).
    """
    # Drawn whether used or not: draws that depend on the shape of earlier ones make shrinking
    # (and its result) depend on where the search started.
    fallback_id = draw(st.integers(0, 10**12))
    first = draw(api_responses(level))
    if coherent and first.get("status") in ("processing", "success", "failed") and "id" not in first:
        first["id"] = fallback_id  # a job the service accepted has an id
    story = [first]
    if first.get("status") != "processing":
        return story
    job_id = first.get("id")
    polls = draw(st.integers(0, max_polls))
    for _ in range(polls):
        poll = draw(processing_responses(level))
        if coherent and job_id is not None:
            poll["id"] = job_id
            if "fetch_result" in first:
                poll["fetch_result"] = first["fetch_result"]
        story.append(poll)
    ending = draw(_endings(level))
    if ending is not None:
        if coherent and job_id is not None and ending.get("status") in ("success", "failed"):
            ending["id"] = job_id
            if ending.get("status") == "success" and first.get("future_links") and "output" in ending:
                ending["output"] = list(first["future_links"])
        story.append(ending)
    return story
