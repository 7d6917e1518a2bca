"""One redaction list: no sink may carry an API key."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.core.redact import (MASK, Redactor, current_redactor, mask_registered, redact, redact_text,
                                   register_secret)


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


def test_python_repr_single_quoted_keys_are_masked():
    """A dict printed by Python (a log line, an assertion message) quotes with single quotes."""
    assert redact_text("{'key': 'sk-1', 'prompt': 'cat'}") == "{'key': '***', 'prompt': 'cat'}"
    assert redact_text("{'api_key': 'it\\'s-secret'}") == "{'api_key': '***'}"


def test_an_empty_key_stays_visibly_empty():
    """'no key was sent' is what a reader needs to see when the answer was "Invalid Api Key"."""
    assert redact_text('{"key": "", "prompt": "cat"}') == '{"key": "", "prompt": "cat"}'
    assert redact_text("{'key': ''}") == "{'key': ''}"
    assert redact({"key": "", "api_key": None}) == {"key": "", "api_key": None}


def test_a_bearer_token_keeps_its_scheme_word():
    assert redact_text("retrying with Bearer sk-live-77 now") == "retrying with Bearer *** now"
    assert redact_text("basic dXNlcjpwYXNz, then") == "basic ***, then"


def test_field_names_match_whole_words_in_any_case():
    assert redact_text("KEY=abc&x=1 token: zzz, Api_Key=q") == "KEY=***&x=1 token: ***, Api_Key=***"
    assert redact_text("monkey=banana keyboard=1") == "monkey=banana keyboard=1"


def test_the_longest_secret_is_masked_first():
    """When one secret is a prefix of another, the longer is masked whole (no tail left over)."""
    assert redact_text("x abcdef12 y", extra=["abcd", "abcdef12"]) == "x *** y"
    register_secret("sk-prefix")
    register_secret("sk-prefix-and-more")
    assert redact_text("sent sk-prefix-and-more") == "sent ***"
    assert mask_registered("sent sk-prefix-and-more") == "sent ***"


def test_mask_registered_masks_registered_values_and_nothing_else():
    """For text where "key": ... pairs are not secrets (a spec, a report about field names)."""
    register_secret("sk-registered-42")
    text = '{"key": "example-key"} used sk-registered-42 and Bearer tok'
    assert mask_registered(text) == '{"key": "example-key"} used *** and Bearer tok'


def test_short_or_missing_values_are_not_registered():
    """Masking every "a" or "abc" in every log would destroy the logs."""
    register_secret(None)
    register_secret("")
    register_secret("abc")
    assert mask_registered("abc a") == "abc a"
    register_secret("abcd")
    assert mask_registered("abcd abc") == "*** abc"


def test_registered_values_are_masked_inside_structured_data_too():
    register_secret("sk-struct-1234")
    assert redact({"notes": ("a sk-struct-1234", 5, None)}) == {"notes": [f"a {MASK}", 5, None]}


# -- JSON that a field-name pattern cannot read --------------------------------------------------------


@pytest.mark.parametrize("text, masked", [
    ('{"\\u006bey": "sk-1", "prompt": "p"}', '{"\\u006bey": "***", "prompt": "p"}'),
    ('{"K\\u0045Y": "sk-1"}', '{"K\\u0045Y": "***"}'),
    ('{"\\u006b\\ey": "sk-1"}', '{"\\u006b\\ey": "***"}'),  # a bad escape is read as far as it goes
    ('{"\\u006bey": 12345678, "n": 1}', '{"\\u006bey": "***", "n": 1}'),
    ('{"key": "sk-live-cut', '{"key": "***"'),  # a body cut short: masked to the end
    ('{"\\u006bey": "a1", "x": 1, "tok\\u0065n": "b2", "y": "z"}', '{"\\u006bey": "***", "x": 1, "tok\\u0065n": "***", "y": "z"}'),
])
def test_secret_members_are_masked_in_any_json_spelling(text, masked):
    assert redact_text(text) == masked


@pytest.mark.parametrize("text", [
    '{"\\u006bey": "", "prompt": "p"}',      # an empty key stays visibly empty
    '{"\\u006bey": }',                       # nothing to mask
    '{"prompt": "say \\"key\\": yes"}',      # a quoted "key": inside a string is text, not a member
    '{"\\u006bey',                           # a name cut short
    "no quotes key here",
])
def test_what_is_no_secret_member_is_left_as_it_was(text):
    assert redact_text(text) == text


def test_a_double_quoted_value_after_an_equals_sign_is_masked():
    assert redact_text('Client(key="sk-live-9", model="m")') == 'Client(key="***", model="m")'


def test_a_secret_inside_another_is_masked_whole():
    """Longest first, whatever their alphabetical order: no piece of the longer one is left."""
    assert redact_text("sent aa-zz-1234-bb", extra=["zz-1234", "aa-zz-1234-bb"]) == "sent ***"


def test_a_redactor_keeps_only_values_that_can_be_masked_safely():
    redactor = Redactor(["abc", "abcd", 5, None])
    assert redactor.values == frozenset({"abcd"})
    redactor.register("xyz")
    redactor.register(None)
    redactor.register("wxyz")
    assert redactor.values == frozenset({"abcd", "wxyz"})


def test_a_redactor_masks_its_own_values_in_every_form():
    redactor = Redactor(["sk-run-5678"])
    assert redactor.redact({"note": "used sk-run-5678", "key": "k"}) == {"note": f"used {MASK}", "key": MASK}
    assert redactor.text("a sk-run-5678 b extra-1234", extra=["extra-1234"]) == f"a {MASK} b {MASK}"
    assert redactor.mask('{"key": "kept"} sk-run-5678') == f'{{"key": "kept"}} {MASK}'


def test_without_registered_values_strings_in_structured_data_stay_as_written():
    """A prompt that mentions key=... is the user's text: only the secret field goes."""
    body = {"prompt": "explain the key=value syntax", "key": "sk-9"}
    assert Redactor().redact(body) == {"prompt": "explain the key=value syntax", "key": MASK}


def test_redact_path_is_the_one_masking_of_a_request_path_for_every_sink():
    from contracts.core.redact import redact_path, unowned_segments

    key = "sk-live-abc123def456ghi789"
    # a request someone answered keeps its segments (a job's uuid is no secret); key= values never shown
    assert redact_path(f"/generations/{key}?key={key}&x=1") == "/generations/sk-live-abc123def456ghi789?key=***&x=1"
    # nothing answered it: a segment long enough to be a key is masked, the query is not read as one
    assert redact_path(f"/generations/{key}.png?x=1", unowned=True) == "/generations/***?x=1"
    assert redact_path("/api/v6/images/inpant", unowned=True) == "/api/v6/images/inpant"  # a typo stays readable
    # the console shows only the filters it names; extra secrets are masked wherever they are
    assert redact_path("/r?operation=fetch&q=secret-ish", shown_params={"operation"}) == "/r?operation=fetch&q=***"
    # a value may hold "=" itself (base64 padding, a nested query): the name is what comes before the first
    assert redact_path("/r?track_id=YQ==&q=a=b", shown_params={"track_id"}) == "/r?track_id=YQ==&q=***"
    assert redact_path("/r?flag&q=1", shown_params=set()) == "/r?flag&q=***", "a bare name has no value to hide"
    assert redact_path("/a/tok-1234/b", extra=["tok-1234"]) == "/a/***/b"
    assert unowned_segments(f"/generations/{key}?key=0123456789abcdefgh") == [key]
