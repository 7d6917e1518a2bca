"""One redaction list: no sink may carry an API key."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from contracts.core.redact import MASK, redact, redact_text, register_secret


def test_structured_data_loses_every_secret_field_at_any_depth():
    data = {"key": "sk-1", "meta": {"prompt": "p", "Authorization": "Bearer x"}, "items": [{"api_key": "a"}]}
    assert redact(data) == {"key": MASK, "meta": {"prompt": "p", "Authorization": MASK}, "items": [{"api_key": MASK}]}
    assert data["key"] == "sk-1", "the input is not modified"


def test_text_forms_of_keys_are_masked():
    text = '{"key": "sk-live-1", "prompt": "cat"} curl -d key=sk-live-2&x=1 -H "Authorization: Bearer tok"'
    masked = redact_text(text)
    for secret in ("sk-live-1", "sk-live-2", "tok"):
        assert secret not in masked
    assert '"prompt": "cat"' in masked


def test_registered_secret_values_are_masked_anywhere():
    register_secret("very-secret-value-123")
    assert redact_text("oops very-secret-value-123 leaked") == f"oops {MASK} leaked"
    assert redact({"note": "very-secret-value-123"}) == {"note": MASK}


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), min_size=6, max_size=30))
def test_any_key_in_a_json_body_is_masked(key):
    body = json.dumps({"key": key, "prompt": "x"})
    assert json.loads(redact_text(body))["key"] == MASK
