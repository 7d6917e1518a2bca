"""Dynamic bodies (Prefer: dynamic=true) are valid for their schema and reproducible from a seed."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from contracts.core.sample import sample
from contracts.core.spec import deref, load_document

DOC = load_document()
RESPONSE = deref(DOC["components"]["schemas"]["ImageGenerationResponse"], DOC)
REQUEST = deref(DOC["components"]["schemas"]["InpaintingRequest"], DOC)
REQUESTS = [deref(schema, DOC) for name, schema in DOC["components"]["schemas"].items() if name.endswith("Request")]


@given(st.integers(0, 2**32))
def test_samples_are_valid_for_the_response_schema(seed):
    value = sample(RESPONSE, random.Random(seed))
    Draft202012Validator(RESPONSE, format_checker=FormatChecker()).validate(value)


@given(st.integers(0, 2**32))
def test_samples_are_valid_for_the_request_schema(seed):
    Draft202012Validator(REQUEST, format_checker=FormatChecker()).validate(sample(REQUEST, random.Random(seed)))


@given(st.integers(0, 2**32), st.integers(0, 100))
def test_samples_are_valid_for_every_request_schema_of_the_family(seed, which):
    schema = REQUESTS[which % len(REQUESTS)]  # image inputs: anyOf branches under a type, minLength 64
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(sample(schema, random.Random(seed)))


def test_same_seed_same_sample():
    assert sample(RESPONSE, random.Random(3)) == sample(RESPONSE, random.Random(3))
