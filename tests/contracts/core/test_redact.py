"""One redaction list: no sink may carry an API key."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from contracts.core.redact import MASK, Redactor, current_redactor, redact, redact_text, register_secret


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
    with Redactor():
        register_secret("very-secret-value-123")
        assert redact_text("oops very-secret-value-123 leaked") == f"oops {MASK} leaked"
        assert redact({"note": "very-secret-value-123"}) == {"note": MASK}


def test_a_runs_secrets_end_with_the_run_and_never_reach_another():
    with Redactor() as first:
        register_secret("first-run-secret-1")
        with Redactor() as second:  # e.g. a nested or later run in the same process
            register_secret("second-run-secret-2")
            assert redact_text("first-run-secret-1 second-run-secret-2") == f"first-run-secret-1 {MASK}"
        assert current_redactor() is first
        assert redact_text("first-run-secret-1 second-run-secret-2") == f"{MASK} second-run-secret-2"
    assert "first-run-secret-1" not in first.text("x first-run-secret-1") and second.mask("second-run-secret-2") == MASK
    assert "first-run-secret-1" in redact_text("first-run-secret-1"), "nothing is left behind when the run ends"


def test_another_thread_does_not_see_this_runs_secrets():
    import threading

    seen = []
    with Redactor():
        register_secret("thread-local-secret-3")
        worker = threading.Thread(target=lambda: seen.append(redact_text("thread-local-secret-3")))
        worker.start()
        worker.join()
    assert seen == ["thread-local-secret-3"]


def test_outside_a_run_the_first_registration_starts_one_for_this_context():
    import contextvars

    def alone():
        assert current_redactor() is None
        register_secret("context-secret-4")
        return redact_text("context-secret-4"), current_redactor().values

    masked, values = contextvars.Context().run(alone)
    assert masked == MASK and values == {"context-secret-4"}
    assert "context-secret-4" in redact_text("context-secret-4")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), min_size=6, max_size=30))
def test_any_key_in_a_json_body_is_masked(key):
    body = json.dumps({"key": key, "prompt": "x"})
    assert json.loads(redact_text(body))["key"] == MASK
