"""Targets: how a mock, a URL and the real API are described, discovered and budgeted."""

from __future__ import annotations

import pytest

from contracts.core.redact import redact_text
from contracts.core.schema_validation import problems
from contracts.core.spec import load_document, operations
from contracts.run.targets import REAL_BASE_URL, Target, TargetError, cheapest_inpaint_body


def test_a_url_target_finds_the_api_base_and_recognises_a_strict_mock(make_app, serve_wsgi):
    served = serve_wsgi(make_app(strict=True))
    target = Target.for_url(served.url)
    assert target.base_url == served.url + "/api"  # the family spec's server path
    assert target.is_mock and target.strict is True and target.name == "mock"
    assert target.key.startswith("contracts-")
    target.close()


def test_an_in_process_target_needs_no_socket(make_app):
    target = Target.for_wsgi(make_app(processing_ratio=0.0))
    assert target.is_mock and target.strict is False
    answer = target.post("/v6/images/inpaint", cheapest_inpaint_body())
    assert answer.json()["status"] == "success"
    assert target.advance_clock(5) is True


def test_a_server_that_is_not_a_mock_has_no_admin(serve_wsgi):
    def plain(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"nope"]

    target = Target.for_url(serve_wsgi(plain).url + "/v6/")
    assert target.base_url.endswith("/v6") and not target.is_mock and target.strict is None
    assert target.advance_clock(1) is False
    target.reset()  # nothing to reset; must not fail


def test_the_real_api_without_a_key_is_skipped_with_the_reason():
    target = Target.real(environ={})
    assert target.base_url == REAL_BASE_URL
    assert target.skip_reason == ("MODELSLAB_API_KEY is not set: real-API contract tests need a key "
                                  "(they spend at most 5 calls)")
    assert target.positive_only and target.strict is False


def test_the_real_key_is_registered_as_a_secret_everywhere():
    target = Target.real(environ={"MODELSLAB_API_KEY": "sk-real-abcdef-987", "CONTRACTS_REAL_BASE_URL":
                                  "http://127.0.0.1:9/api/v6/images"}, budget=2)
    assert target.skip_reason is None and target.budget.limit == 2
    assert target.base_url == "http://127.0.0.1:9/api/v6/images"
    assert "sk-real-abcdef-987" not in redact_text("Authorization: Token sk-real-abcdef-987 in a log line")


@pytest.mark.parametrize("bad", ["ftp://x", "localhost:4010", "nonsense", "http://127.0.0.1:", "http://h:99999"])
def test_unusable_urls_are_rejected_with_the_accepted_forms(bad):
    with pytest.raises(TargetError, match="'mock', 'real' or 'wsgi:module:attr'"):
        Target.for_url(bad)


def test_the_cheapest_body_is_valid_and_asks_for_the_least():
    document = load_document()
    body = {**cheapest_inpaint_body(), "key": "k"}
    assert problems(body, operations(document)["v6ImagesInpaint"].body_schema, document=document) == []
    assert (body["width"], body["height"], body["samples"]) == (512, 512, 1)
    assert "webhook" not in body


def test_a_mock_with_an_admin_token_needs_it_and_the_token_stays_secret(make_app, serve_wsgi, monkeypatch):
    monkeypatch.delenv("MOCKSERVER_ADMIN_TOKEN", raising=False)
    served = serve_wsgi(make_app(admin_token="tok-admin-7777"))
    with pytest.raises(TargetError, match="needs its admin token"):
        Target.for_url(served.url)
    target = Target.for_url(served.url, admin_token="tok-admin-7777")
    assert target.is_mock and target.admin.count_requests() == 0
    assert "tok-admin-7777" not in redact_text("Authorization: x tok-admin-7777")
    target.close()
