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


@pytest.mark.parametrize("raw, message", [
    (b'{"a": NaN}', "NaN is not valid JSON"),
    (b'{"a": -Infinity}', "-Infinity is not valid JSON"),
    (b'{"a": 1e999}', "number 1e999 is out of range"),
    (b'{"a": -' + b"1" * 30 + b'e999}', "number -1111111111111111111 is out of range"),  # 20 characters of it
    (b'{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
    (b'{"' + b"k" * 100 + b'": 1, "' + b"k" * 100 + b'": 2}', "duplicate key '" + "k" * 40 + "'"),
    (b"\xff{}", "body is not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
    (b'"text"', "body is a JSON str, not an object"),
    (b"3", "body is a JSON int, not an object"),
])
def test_the_journal_learns_exactly_what_was_wrong(raw, message):
    """The message is the warning a client reads in the journal; long parts are cut short."""
    with pytest.raises(BodyError) as caught:
        parse_object(raw)
    assert str(caught.value) == message


def test_a_json_syntax_error_is_named_in_at_most_80_characters():
    with pytest.raises(BodyError) as caught:
        parse_object(b'{"prompt": "a cat" "width": 512, ' + b'"x": 1, ' * 50)
    message = str(caught.value)
    assert message.startswith("body is not valid JSON: Expecting ',' delimiter")
    assert len(message) <= len("body is not valid JSON: ") + 80


def test_floats_stay_floats_and_finite_exponents_are_fine():
    assert parse_object(b'{"g": 7.5, "s": 1e3, "w": 512}') == {"g": 7.5, "s": 1000.0, "w": 512}


@pytest.mark.parametrize("value, expected", [
    ("application/vnd.api+json", True), (" application/json ;charset=utf-8", True),
    ("application/jsonp", False), ("text/json", False), ("text/x+json", False), ("application/json-seq", False),
    ("multipart/form-data; boundary=application/json", False),
])
def test_json_media_types_only(value, expected):
    assert is_json_content_type(value) is expected


def test_a_long_reason_is_cut_to_80_characters():
    with pytest.raises(BodyError) as caught:
        parse_object(b'{"a": ' + b"9" * 5000 + b"}")  # int() past Python's digit limit: a long message
    message = str(caught.value)
    assert message.startswith("body is not valid JSON: Exceeds the limit")
    assert len(message) == len("body is not valid JSON: ") + 80


def test_only_the_media_type_before_the_first_parameter_counts():
    assert is_json_content_type("application/json; charset=utf-8; q=1") is True
