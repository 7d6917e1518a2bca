"""The strategies draw what the spec allows, and each request kind meets the mock as intended."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.modelslab import strategies
from contracts.core.schema_validation import problems
from contracts.core.behaviours import spec_behaviours
from contracts.core.spec import load_document

DOC = load_document()
# the spec's inpaint: the first generate operation that renders inpaint (community's in the family spec)
INPAINT = next(g for g in spec_behaviours().generate.values() if g.render == "inpaint").op.body_schema
SCHEMAS = DOC["components"]["schemas"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INPAINT_URL = "/api/v6/images/inpaint"


@pytest.mark.parametrize("level", ["spec", "contract"])
@pytest.mark.parametrize("variant", sorted(strategies.RESPONSE_VARIANTS))
def test_every_response_variant_is_valid_for_its_branch_and_the_200_union(variant, level):
    @given(strategies.response_for(variant, level))
    @FAST
    def check(body):
        assert problems(body, SCHEMAS[strategies.RESPONSE_VARIANTS[variant]], document=DOC) == []
        assert problems(body, SCHEMAS["ImageGenerationResponse"], document=DOC) == []  # exactly one branch

    check()


@given(strategies.inpaint_bodies("k"))
@FAST
def test_valid_bodies_are_valid(body):
    assert problems(body, INPAINT, document=DOC) == []


@given(strategies.inpaint_bodies("k", realistic=False))
@FAST
def test_unrealistic_valid_bodies_are_valid_too(body):
    assert problems(body, INPAINT, document=DOC) == []


@given(strategies.sloppy_inpaint_bodies("k"))
@FAST
def test_sloppy_bodies_break_the_strict_schema(body):
    assert problems(body, INPAINT, document=DOC) != []


@given(invalid=strategies.invalid_inpaint_bodies("k"))
@FAST
def test_invalid_bodies_break_the_schema_at_the_named_field(invalid):
    found = problems(invalid.body, INPAINT, document=DOC)
    assert any(p.pointer == f"/{invalid.field}" or invalid.field in p.message for p in found), (invalid, found)


@given(body=strategies.sloppy_inpaint_bodies("k"))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_compat_mock_accepts_sloppy_bodies_and_says_what_it_changed(make_app, body):
    client = make_app(processing_ratio=0.0).test_client()
    answer = client.post(INPAINT_URL, json=body)
    # instant_response "yes" (or true) asks for the queued answer at once (the realtime docs)
    instant = str(body.get("instant_response")).lower() in ("yes", "true", "1", "on")
    assert answer.get_json()["status"] == ("processing" if instant else "success"), answer.get_json()
    assert answer.headers.get("X-Mock-Warnings")


@given(body=strategies.sloppy_inpaint_bodies("k"))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_strict_mock_rejects_sloppy_bodies_with_field_errors(make_app, body):
    client = make_app(processing_ratio=0.0, strict=True).test_client()
    data = client.post(INPAINT_URL, json=body).get_json()
    assert data["status"] == "error" and isinstance(data["message"], dict), data


@pytest.mark.parametrize("strict", [False, True])
def test_both_modes_reject_invalid_bodies_naming_the_field(make_app, strict):
    client = make_app(processing_ratio=0.0, strict=strict).test_client()

    @given(invalid=strategies.invalid_inpaint_bodies("k"))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def check(invalid):
        data = client.post(INPAINT_URL, json=invalid.body).get_json()
        assert data["status"] == "error" and invalid.field in data["message"], (invalid.why, data)

    check()


@given(strategies.job_stories())
@FAST
def test_stories_start_with_the_inpaint_answer_and_poll_only_a_queued_job(story):
    assert story
    if story[0]["status"] != "processing":
        assert len(story) == 1
    assert all(answer["status"] == "processing" for answer in story[1:-1])
    job_id = story[0].get("id")
    if job_id is not None:  # coherent: polls and a final success/failed carry the job's id
        assert all(a.get("id") == job_id for a in story[1:] if a["status"] in ("processing", "success", "failed"))


@given(st.data())
@FAST
def test_from_schema_honours_bounds_steps_patterns_and_required(data):
    schema = {"type": "object", "additionalProperties": False, "required": ["w", "code"],
              "properties": {"w": {"type": "integer", "minimum": 512, "maximum": 1024, "multipleOf": 8},
                             "x": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                             "code": {"type": "string", "pattern": "^[0-9]{1,5}$"},
                             "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1}}}
    value = data.draw(strategies.from_schema(schema))
    assert problems(value, schema) == []


def test_request_cases_come_from_schemathesis():
    @given(strategies.request_cases("v6ImagesFetch"))
    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        assert case.operation.path == "/v6/images/fetch" and isinstance(case.body, dict)

    check()
