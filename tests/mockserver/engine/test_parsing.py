"""Body parsing refuses what Python's json would quietly accept, and never raises past its caller."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.engine.parsing import BodyError, is_json_content_type, parse_object


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"\xc3\x28", "not UTF-8"),
        (b"[]", "list"),
        (b"null", "NoneType"),
        (b"", "not valid JSON"),
    ],
)
def test_refusals_say_why(raw, reason):
    with pytest.raises(BodyError, match=reason):
        parse_object(raw)


def test_an_object_is_returned_as_a_dict():
    assert parse_object('{"key": "k", "width": 512, "g": 7.5, "n": null}'.encode()) == {
        "key": "k", "width": 512, "g": 7.5, "n": None}


@given(st.binary(max_size=300))
def test_any_bytes_give_a_dict_or_a_body_error(raw):
    try:
        assert isinstance(parse_object(raw), dict)
    except BodyError:
        pass


@pytest.mark.parametrize("value, expected", [
    ("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
    ("application/problem+json", True), ("text/plain", False), ("", False), (None, False),
])
def test_json_content_types(value, expected):
    assert is_json_content_type(value) is expected
