"""A body that does not parse still loses its key before anything is written (issue 12, item 6).

``{"\\u006bey": "sk-...", "prompt": "x",}`` (a trailing comma, the member name spelled with an
escape) is refused as "Invalid API Request", and its text is journaled so a test can see what
was sent. The name is ``key`` in any JSON spelling, so its value is masked there, as it is in a
body that parses: in the journal, the SQLite file and everything the admin API returns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.core.redact import redact_text

INPAINT = "/api/v6/images/inpaint"
SECRET = "sk-live-9f8e7d6c5b4a39281706"

SPELLINGS = [
    '"\\u006bey"',
    '"\\u006Bey"',
    '"k\\u0065y"',
    '"ke\\u0079"',
    '"\\u006b\\u0065\\u0079"',
    '"\\u004B\\u0045\\u0059"',
    '"KEY"',
    '"Key"',
    '"api\\u005fkey"',
    '"\\u0061pi_key"',
    '"api\\u004bey"',
    '"\\u0074oken"',
    '"\\u0041uthorization"',
    '"\\u0078-api-key"',
]

BROKEN = [
    '{{{name}: "{secret}", "prompt": "x",}}',  # trailing comma
    '{{"prompt": "x", {name}: "{secret}"',  # cut short
    '{{"prompt": "x", {name} : "{secret}" "model_id": 1}}',  # a missing comma, spaces before the colon
    '{{"prompt": "x", {name}:"{secret}',  # the value itself cut short
    '{{{name}: {secret_number}, "prompt": }}',  # a bare value
    '{{"nested": {{{name}: "{secret}"}}, oops}}',
    '{{"prompt": "he said \\"hi\\"", {name}: "{secret}",}}',  # escaped quotes before it
]


def _bodies():
    for spelling in SPELLINGS:
        for template in BROKEN:
            yield template.format(name=spelling, secret=SECRET, secret_number="90817263544536271809")


@pytest.mark.parametrize("text", list(_bodies()))
def test_redact_text_masks_a_key_member_in_any_json_spelling(text):
    masked = redact_text(text)
    assert SECRET not in masked and "90817263544536271809" not in masked, masked
    assert "***" in masked


def test_redact_text_leaves_other_escaped_members_alone():
    text = '{"\\u0070rompt": "a cat", "\\u006bey_hint": "visible", "monkey": "also visible",}'
    assert redact_text(text) == text


def test_a_value_with_escapes_is_masked_whole():
    masked = redact_text('{"\\u006bey": "sk-\\u0041BC\\"DEF-secret-tail", "prompt": "x",}')
    assert "secret-tail" not in masked and "DEF" not in masked and '"prompt": "x"' in masked


@pytest.fixture(params=["memory", "sqlite"])
def mock(request, make_app, tmp_path):
    store = "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/mock.sqlite3"
    return make_app(store=store, processing_ratio=0.0), tmp_path


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_an_unparsed_body_leaves_no_key_in_the_journal_or_the_store(mock, content_type):
    app, folder = mock
    client = app.test_client()
    bodies = list(_bodies())
    for text in bodies:
        answer = client.post(INPAINT, data=text.encode(), content_type=content_type)
        assert answer.json["message"] == "Invalid API Request"
    journal = client.get("/__mock/requests").json
    assert journal["count"] == len(bodies)
    dumped = json.dumps(journal)
    assert SECRET not in dumped and "90817263544536271809" not in dumped
    assert "***" in dumped
    for path in Path(folder).glob("mock.sqlite3*"):
        assert SECRET.encode() not in path.read_bytes(), path
