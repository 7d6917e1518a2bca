"""JSON-schema errors become the Laravel sentences the real service sends."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mockserver.engine.field_messages import laravel_messages

URL = "https://example.com/i.png"
SCHEMA = {
    "type": "object",
    "required": ["init_image", "model_id"],
    "additionalProperties": False,
    "properties": {
        "init_image": {"type": "string", "format": "uri"},
        "model_id": {"type": "string", "minLength": 1, "maxLength": 5},
        "width": {"type": "integer", "minimum": 512, "maximum": 1024, "multipleOf": 8},
        "safety_checker": {"enum": ["yes", "no"]},
        "seed": {"oneOf": [{"type": "integer", "maximum": 99}, {"type": "null"}]},
        "request_id": {"type": "string", "pattern": "^[0-9]+$"},
    },
}


def messages(body):
    validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    return laravel_messages(validator.iter_errors(body))


@pytest.mark.parametrize("body, expected", [
    ({}, {"init_image": ["The init image field is required."], "model_id": ["The model id field is required."]}),
    ({"init_image": URL, "model_id": "m", "colour": 1}, {"colour": ["The colour field is prohibited."]}),
    ({"init_image": URL, "model_id": "m", "width": "512"}, {"width": ["The width field must be an integer."]}),
    ({"init_image": URL, "model_id": "m", "width": 104}, {"width": ["The width field must be at least 512."]}),
    ({"init_image": URL, "model_id": "m", "width": 2048}, {"width": ["The width field must not be greater than 1024."]}),
    ({"init_image": URL, "model_id": "m", "width": 515}, {"width": ["The width field must be a multiple of 8."]}),
    ({"init_image": URL, "model_id": "m", "safety_checker": "maybe"}, {"safety_checker": ["The selected safety checker is invalid."]}),
    ({"init_image": URL, "model_id": "m", "seed": "1"}, {"seed": ["The seed field must be an integer."]}),
    ({"init_image": URL, "model_id": "m", "seed": 100}, {"seed": ["The seed field must not be greater than 99."]}),
    ({"init_image": URL, "model_id": ""}, {"model_id": ["The model id field must be at least 1 characters."]}),
    ({"init_image": URL, "model_id": "toolong"}, {"model_id": ["The model id field must not be greater than 5 characters."]}),
    ({"init_image": "not a url", "model_id": "m"}, {"init_image": ["The init image field must be a valid URL."]}),
    ({"init_image": URL, "model_id": "m", "request_id": "abc"}, {"request_id": ["The request id field format is invalid."]}),
])
def test_sentences(body, expected):
    assert messages(body) == expected


def test_a_field_with_two_problems_lists_both_once():
    assert messages({"init_image": URL, "model_id": "m", "width": 9999}) == {
        "width": ["The width field must not be greater than 1024.", "The width field must be a multiple of 8."]}
