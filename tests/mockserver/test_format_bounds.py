"""Format checks are bounded (issue 12, item 8).

The ``uri`` check spent 3.7 s of CPU (holding the GIL) on a 30 MB data URI or webhook URL, twice
when the value was invalid. ``contracts.core.formats.is_uri`` decides by length first: the same
verdict as RFC 3986's grammar (rfc3986-validator, what jsonschema and openapi-core use), in time
linear in the length. NetPolicy refuses URLs longer than 8 KiB before parsing them.
"""

from __future__ import annotations

import json
import re
import string
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rfc3986_validator import validate_rfc3986

from contracts.core.formats import SHORT_URI, is_uri
from mockserver.images.netpolicy import MAX_URL, NetPolicy

INPAINT = "/api/v6/images/inpaint"
BIG = 30 * 1024 * 1024


def rfc(value: str) -> bool:
    return bool(validate_rfc3986(value, rule="URI"))


_ALPHABET = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%/?#[] \"<>\\^`{|}é\x00\n"
_SCHEME_AND_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_HEADS = ["data:image/png;base64,", "http://example.com", "https://user@[::1]:8080", "urn:isbn:", "a:", "http:",
          "http://", "mailto:", "1http://x", "ht tp://x", "file:///", "http://exa mple.com", "http://[::1", ""]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.sampled_from(_HEADS), body=st.text(alphabet=_ALPHABET, min_size=0, max_size=40),
       filler=st.sampled_from(["A", "a/", "%41", "b?", "%4", "c#"]), tail=st.text(alphabet=_ALPHABET, max_size=8))
def test_is_uri_agrees_with_rfc3986_on_long_strings(head, body, filler, tail):
    # the scheme and authority stay short (a "/" before the long part); only that is promised
    value = head + body + "/" + filler * ((SHORT_URI + 50) // len(filler)) + tail
    assert len(value) > SHORT_URI
    # ... unless the body made that "/" the end of "scheme:/" and the long part an authority ("a:/" + "/AAA..."):
    # an authority that long is the one place is_uri is stricter (the test below)
    head = _SCHEME_AND_AUTHORITY.match(value)
    assume(head is None or head.end() <= SHORT_URI)
    assert is_uri(value) == rfc(value), value[:80] + "..." + value[-40:]


def test_an_authority_longer_than_2048_characters_is_not_a_uri():
    # no host name is longer than 253 characters; the one place is_uri is stricter than the grammar
    value = "http://" + "a" * SHORT_URI + "/x"
    assert rfc(value) and not is_uri(value)


@pytest.mark.parametrize("value", ["http://example.com/a?b#c", "data:image/png;base64,AAAA", "not a uri", "a:",
                                   "http://[::1]/", "http://exa mple.com/", "%zz:x", ""])
def test_is_uri_is_the_full_grammar_on_short_strings(value):
    assert is_uri(value) == rfc(value)


@pytest.mark.parametrize("value", [
    "data:image/png;base64," + "A" * BIG,
    "data:image/png;base64," + "A" * BIG + " ",
    "http://example.com/" + "a" * BIG,
    "http://" + "a" * BIG,
    "x" * BIG,
    "http://example.com/?" + "%" * BIG,
])
def test_is_uri_on_30_megabytes_is_quick(value):
    started = time.process_time()
    is_uri(value)
    assert time.process_time() - started < 0.5


def test_net_policy_refuses_huge_urls_before_parsing():
    started = time.process_time()
    reason = NetPolicy().check("http://127.0.0.1/" + "a" * BIG)
    assert reason is not None and str(MAX_URL) in reason
    assert time.process_time() - started < 0.1


@pytest.mark.parametrize("field, value, answer", [
    ("init_image", "data:image/png;base64," + "A" * BIG, "Image too large"),
    ("init_image", "data:image/png;base64," + "A" * BIG + " ", "valid URL"),
    ("webhook", "http://example.com/" + "a" * BIG, "success"),
    ("webhook", "http://example.com/" + "a" * BIG + "\\", "valid URL"),
])
def test_a_30_megabyte_uri_costs_a_bounded_amount_of_cpu(make_app, valid_body, field, value, answer):
    client = make_app(processing_ratio=0.0).test_client()
    raw = json.dumps(dict(valid_body, **{field: value})).encode()
    client.post(INPAINT, data=b'{"key": "warm", "prompt": 1}', content_type="application/json")  # openapi-core loaded
    started = time.process_time()
    response = client.post(INPAINT, data=raw, content_type="application/json")
    spent = time.process_time() - started
    assert answer in json.dumps(response.json)
    assert spent < 2.0, f"{spent:.2f} s of CPU for one request"
