"""The fast validator and openapi-core agree on every generated request, valid or not.

mockserver/engine/validation.py answers "valid" from a compiled Rust validator and sends everything
else to openapi-core's ``validate_request``. That is only sound if the fast answer never says
"valid" where openapi-core would not, and it is only fast if it rarely says "not sure" where
openapi-core accepts. Hypothesis generates bodies from a valid one by replacing, dropping and
adding fields with the values real clients send (strings for numbers, nulls, yes/no booleans,
floats, URIs good and bad, unknown fields), with and without the compat normaliser in front,
as the pipeline does.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts.core.spec import PONY_SPEC_FILE, load_document, load_openapi, operations, relative_base_path
from mockserver.engine.normalise import Normaliser
from mockserver.engine.validation import OperationValidator

DOC = load_document(PONY_SPEC_FILE)
OPS = operations(DOC)
BASE = relative_base_path(DOC)
VALIDATORS = {op_id: OperationValidator(load_openapi(PONY_SPEC_FILE), op, BASE)
              for op_id, op in OPS.items() if op.body_schema}
INPAINT_FIELDS = sorted(OPS["inpaint"].body_schema["properties"])
NORMALISER = Normaliser(OPS["inpaint"].body_schema)

VALID_INPAINT: dict[str, Any] = {
    "key": "k", "model_id": "pony-realism", "prompt": "a cat",
    "init_image": "https://example.com/init.png", "mask_image": "https://example.com/mask.png",
}

URIS = st.sampled_from([
    "https://example.com/a.png", "http://127.0.0.1:8000/x?y=1#z", "data:image/png;base64,iVBORw0KGgo=",
    "file:///tmp/a.png", "a:b", "urn:isbn:0451450523", "http://[::1]:80/", "ftp://x/y", "mailto:a@b.c",
    "not a uri", "", "//example.com/no-scheme", "/relative/path.png", "example.com/a.png",
    "http://exa mple.com/", "http://%zz/", "http://example.com/é", "é://x", "http://[::1/", "1http://x",
    "http://example.com/\n", " https://example.com/a.png", "https:", "HTTP://EXAMPLE.COM", "x" * 300,
])
SLOPPY = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 2000), st.integers(min_value=2**63 - 2, max_value=2**70),
    st.sampled_from([512, 520, 1024, 1032, 511, 0, -8, 4, 1, 21, 100, 101]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([512.0, 7.5, 0.0, 1.0, 20.0, 20.5, 0.7, 1e300, -0.0, 8.000000001]),
    st.sampled_from(["512", "7.5", "yes", "no", "YES", "true", "1", "maybe", "", " ", "null", "512\n"]),
    st.text(max_size=20), URIS, st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def inpaint_bodies(draw) -> dict[str, Any]:
    body = dict(VALID_INPAINT)
    for name in draw(st.lists(st.sampled_from(INPAINT_FIELDS), max_size=6, unique=True)):
        body[name] = draw(st.one_of(SLOPPY, URIS) if name in ("init_image", "mask_image", "webhook") else SLOPPY)
    for name in draw(st.lists(st.sampled_from(INPAINT_FIELDS), max_size=2, unique=True)):
        if draw(st.booleans()):
            body.pop(name, None)
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.sampled_from(["num_inference_steps", "extra", "Width", ""]))] = draw(SLOPPY)
    return body


def authority_accepts(op_id: str, body: Any, path_params: dict[str, str] | None = None) -> bool:
    return VALIDATORS[op_id].authoritative_errors(body, path_params) == {}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=inpaint_bodies(), compat=st.booleans())
@example(body=VALID_INPAINT, compat=False)
@example(body=dict(VALID_INPAINT, width=512.0), compat=False)
@example(body=dict(VALID_INPAINT, width=2**64 * 8), compat=False)
@example(body=dict(VALID_INPAINT, init_image="http://exa mple.com/"), compat=False)
def test_fast_and_openapi_core_agree_on_inpaint_bodies(body, compat):
    if compat:
        body, _ = NORMALISER.normalise(body)
    validator = VALIDATORS["inpaint"]
    accepted = authority_accepts("inpaint", body)
    assert validator.is_valid(body) == accepted
    assert (validator.errors(body) is None) == accepted


REQUEST_IDS = st.one_of(
    st.from_regex(r"[0-9]{1,18}", fullmatch=True), st.text(max_size=22),
    st.sampled_from(["", "0", "1" * 18, "1" * 19, "12a", "-1", " 1", "1 ", "130000001\n", "١٢٣"]),
    st.integers(), st.none(), st.floats(allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(request_id=REQUEST_IDS, key=st.one_of(st.just("k"), SLOPPY), extra=st.booleans())
@example(request_id="130000001\n", key="k", extra=False)
def test_the_fast_answer_is_never_valid_where_openapi_core_says_invalid_for_fetch(request_id, key, extra):
    body: dict[str, Any] = {"key": key, "request_id": request_id}
    if extra:
        body["unknown"] = 1
    validator = VALIDATORS["fetchByRequestId"]
    accepted = authority_accepts("fetchByRequestId", body)
    # Rust's "$" does not match before a final newline as Python's does: the fast path may only be
    # stricter than openapi-core, and then openapi-core's answer is the one that counts.
    assert not validator.is_valid(body) or accepted
    assert (validator.errors(body) is None) == accepted


@settings(max_examples=200, deadline=None)
@given(job_id=REQUEST_IDS.filter(lambda v: isinstance(v, str) and "/" not in v and "{" not in v and "}" not in v),
       key=st.one_of(st.just("k"), SLOPPY))
def test_path_parameters_are_checked_as_openapi_core_checks_them(job_id, key):
    body = {"key": key}
    params = {"id": job_id}
    validator = VALIDATORS["fetchById"]
    accepted = authority_accepts("fetchById", body, params)
    assert not validator.is_valid(body, params) or accepted
    assert (validator.errors(body, params) is None) == accepted


def test_a_path_parameter_outside_its_pattern_is_rejected_as_openapi_core_rejects_it():
    assert VALIDATORS["fetchById"].errors({"key": "k"}, {"id": "abc"}) == \
        VALIDATORS["fetchById"].authoritative_errors({"key": "k"}, {"id": "abc"}) != {}
