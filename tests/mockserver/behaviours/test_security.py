"""Security requirements of a foreign spec (tests/fixtures/secured.yaml), checked as Prism checks
them: the credential must be there (any value), else 401 with a challenge; credentials found are
masked in the journal; declared response headers are sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import ignored_auth
from hypothesis import HealthCheck, settings

from mockserver.behaviours.security import Check, Scheme, requirements
from mockserver.config import MockConfig
from mockserver.web.app import create_app

SECURED = Path(__file__).resolve().parents[2] / "fixtures" / "secured.yaml"


@pytest.fixture(scope="module")
def client():
    return create_app(MockConfig(spec=str(SECURED), store="memory", seed=5)).test_client()


def get(client, path, cookie: str | None = None, **headers):
    if cookie is not None:  # a fresh client: its cookie jar holds this Cookie header and nothing else
        client = client.application.test_client()
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            client.set_cookie(name, value)
    return client.get(path, headers=headers)


# ------------------------------------------------------------------------------ through the mock


def test_the_document_wide_bearer_is_needed_and_any_token_will_do(client):
    refused = get(client, "/api/notes")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert refused.get_json() == {}, "the operation's own 401 response is the answer"
    assert get(client, "/api/notes", Authorization="Bearer anything").status_code == 200
    assert get(client, "/api/notes", Authorization="bearer lower-case-word").status_code == 200
    for wrong in ("Basic eDp5", "Bearer", "Bearer   ", "Token abc"):
        assert get(client, "/api/notes", Authorization=wrong).status_code == 401, wrong


def test_an_operation_without_its_own_401_gets_a_problem_naming_what_to_send(client):
    answer = client.post("/api/notes", json={"text": "hi"})
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["title"] == "Invalid security scheme used" and body["status"] == 401
    assert body["detail"] == "this operation needs credentials: one of header 'X-Api-Key' | query 'api_key'"
    assert "WWW-Authenticate" not in answer.headers, "API keys have no standard challenge"


def test_either_alternative_lets_the_request_through(client):
    assert client.post("/api/notes", json={"text": "hi"}, headers={"x-api-key": "k-1"}).status_code == 201
    assert client.post("/api/notes?api_key=k-2", json={"text": "hi"}).status_code == 201
    assert client.post("/api/notes?api_key=", json={"text": "hi"}).status_code == 401, "an empty credential is none"


def test_an_alternative_with_two_schemes_needs_both(client):
    assert get(client, "/api/notes/both", **{"X-Api-Key": "k"}).status_code == 401
    assert get(client, "/api/notes/both", Authorization="Basic eDp5").status_code == 401
    both = get(client, "/api/notes/both", Authorization="Basic eDp5", **{"X-Api-Key": "k"})
    assert both.status_code == 200
    refused = get(client, "/api/notes/both")
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="modelslab-mock"'
    assert refused.get_json()["detail"] == ("this operation needs credentials: header 'X-Api-Key' and "
                                            "Authorization: Basic <credentials>")


def test_empty_security_or_an_empty_alternative_needs_nothing(client):
    assert get(client, "/api/notes/public").status_code == 200
    assert get(client, "/api/notes/maybe").status_code == 200


def test_a_cookie_or_an_oauth_token(client):
    assert get(client, "/api/notes/cookie").status_code == 401
    assert get(client, "/api/notes/cookie", cookie="theme=dark; sid=s-1").status_code == 200
    assert get(client, "/api/notes/cookie", cookie="sidx=1").status_code == 401
    assert get(client, "/api/notes/cookie", Authorization="Bearer oauth-token").status_code == 200


def test_credentials_are_masked_in_the_journal_and_a_refusal_says_why(client):
    client.post("/__mock/reset")
    get(client, "/api/notes", Authorization="Bearer sk-bearer-secret-1")
    client.post("/api/notes?api_key=query-secret-2", json={"text": "hi"})
    get(client, "/api/notes/cookie", cookie="sid=cookie-secret-3")
    client.post("/api/notes", json={"text": "no key"})
    entries = client.get("/__mock/requests").get_json()["requests"]
    text = json.dumps(entries)
    for secret in ("sk-bearer-secret-1", "query-secret-2", "cookie-secret-3"):
        assert secret not in text, secret
    assert entries[1]["path"] == "/api/notes?api_key=***"
    assert entries[-1]["status"] == 401 and entries[-1]["validation"] == {
        "valid": False, "errors": {"security": ["this operation needs credentials: one of header 'X-Api-Key' | "
                                                "query 'api_key'"]}}


def test_declared_response_headers_are_sent_from_their_examples_or_drawn(client):
    answer = get(client, "/api/notes", Authorization="Bearer t")
    assert answer.headers["X-Total-Count"] == "42"  # the header's example
    assert answer.headers["X-Rate-Limit-Remaining"] == "99"  # its schema's default
    request_id = answer.headers["X-Request-Id"]  # drawn for its format, the same every time
    assert len(request_id) == 36 and request_id.count("-") == 4
    assert get(client, "/api/notes", Authorization="Bearer t").headers["X-Request-Id"] == request_id
    assert answer.headers["Content-Type"] == "application/json", "the body's type, not the declared header"
    dynamic = get(client, "/api/notes", Authorization="Bearer t", Prefer="dynamic=true, seed=4")
    assert dynamic.headers["X-Request-Id"] != request_id and int(dynamic.headers["X-Total-Count"]) >= 0


# ------------------------------------------------------------------------------ the parts


def test_an_operation_security_replaces_the_document_one():
    doc = {"security": [{"a": []}], "components": {"securitySchemes": {
        "a": {"type": "http", "scheme": "bearer"}, "k": {"type": "apiKey", "in": "header", "name": "X-K"}}}}
    assert requirements(doc, {}) == [[Scheme("a", "authorization", "bearer")]]
    assert requirements(doc, {"security": []}) == []
    assert requirements(doc, {"security": [{"k": []}]}) == [[Scheme("k", "header", "x-k", "X-K")]]
    assert requirements({}, {}) == []


@pytest.mark.parametrize("raw", [{"type": "apiKey", "in": "body", "name": "x"}, {"type": "apiKey", "in": "header"},
                                 {"type": "http"}, {"type": "magic"}, "not an object"])
def test_a_scheme_that_cannot_be_checked_asks_for_nothing(raw):
    doc = {"components": {"securitySchemes": {"odd": raw}}}
    assert requirements(doc, {"security": [{"odd": []}]}) == []
    assert requirements(doc, {"security": [{"missing": []}]}) == []


def test_mutual_tls_cannot_be_seen_and_counts_as_met():
    doc = {"components": {"securitySchemes": {"m": {"type": "mutualTLS"}}}}
    assert Check.of(requirements(doc, {"security": [{"m": []}]}), {}, []).met


def test_open_id_connect_and_oauth2_take_a_bearer_token():
    doc = {"components": {"securitySchemes": {"o": {"type": "openIdConnect", "openIdConnectUrl": "https://x"}}}}
    needed = requirements(doc, {"security": [{"o": ["openid"]}]})
    assert not Check.of(needed, {}, []).met
    check = Check.of(needed, {"Authorization": "Bearer t0ken"}, [])
    assert check.met and check.secrets == ("t0ken",)


def test_every_credential_found_is_a_secret_even_when_the_check_fails():
    doc = {"components": {"securitySchemes": {"k": {"type": "apiKey", "in": "query", "name": "key"},
                                               "b": {"type": "http", "scheme": "basic"}}}}
    needed = requirements(doc, {"security": [{"k": [], "b": []}]})
    check = Check.of(needed, {}, [("key", "q-value"), ("key", "second")])
    assert not check.met and check.secrets == ("q-value",) and check.challenges == ('Basic realm="modelslab-mock"',)


# ------------------------------------------------------------------------------ Schemathesis


schema = schemathesis.openapi.from_path(str(SECURED))
schema.config.base_url = "http://localhost/api"
fuzzed = create_app(MockConfig(spec=str(SECURED), store="memory", seed=13))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_on_a_secured_spec(case):
    response = case.call(app=fuzzed)
    assert response.status_code < 500, response.text
    if response.status_code < 400:  # any credential is accepted (presence is what a mock checks, as Prism)
        case.validate_response(response, excluded_checks=[ignored_auth])
