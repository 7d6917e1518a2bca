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


def test_mutual_tls_cannot_be_seen_and_asks_for_nothing():
    doc = {"components": {"securitySchemes": {"m": {"type": "mutualTLS"}, "b": {"type": "http", "scheme": "bearer"}}}}
    assert requirements(doc, {"security": [{"m": []}]}) == []
    assert requirements(doc, {"security": [{"m": [], "b": []}]}) == [[Scheme("b", "authorization", "bearer")]]


@pytest.mark.parametrize("raw, scheme", [
    ({"type": "apiKey", "in": "header", "name": "X-Api-Key"}, Scheme("s", "header", "x-api-key", "X-Api-Key")),
    ({"type": "apiKey", "in": "Query", "name": "Api_Key"}, Scheme("s", "query", "Api_Key", "Api_Key")),
    ({"type": "apiKey", "in": "cookie", "name": "SID"}, Scheme("s", "cookie", "SID", "SID")),
    ({"type": "APIKEY", "in": "COOKIE", "name": "sid"}, Scheme("s", "cookie", "sid", "sid")),
    ({"type": "http", "scheme": "Bearer"}, Scheme("s", "authorization", "bearer")),
    ({"type": "http", "scheme": " basic "}, Scheme("s", "authorization", "basic")),
    ({"type": "HTTP", "scheme": "Digest"}, Scheme("s", "authorization", "digest")),
    ({"type": "oauth2", "flows": {}}, Scheme("s", "authorization", "bearer")),
    ({"type": "OAuth2", "flows": {}}, Scheme("s", "authorization", "bearer")),
    ({"type": "openIdConnect", "openIdConnectUrl": "https://x"}, Scheme("s", "authorization", "bearer")),
])
def test_each_kind_of_scheme_is_read_where_its_credential_travels(raw, scheme):
    doc = {"components": {"securitySchemes": {"s": raw}}}
    assert requirements(doc, {"security": [{"s": []}]}) == [[scheme]]


def test_schemes_and_requirements_given_by_reference_are_followed():
    doc = {"components": {"securitySchemes": {"s": {"$ref": "#/components/x"}},
                          "x": {"type": "apiKey", "in": "header", "name": "X-K"}},
           "security": [{"s": []}]}
    assert requirements(doc, {}) == [[Scheme("s", "header", "x-k", "X-K")]]


@pytest.mark.parametrize("doc", [{"security": "bearer"}, {"security": [{"s": []}], "components": "none"},
                                 {"security": [{"s": []}], "components": {"securitySchemes": ["s"]}},
                                 {"security": ["s"], "components": {"securitySchemes": {
                                     "s": {"type": "http", "scheme": "bearer"}}}}])
def test_a_security_declaration_that_cannot_be_read_asks_for_nothing(doc):
    assert requirements(doc, {}) == []


def test_the_schemes_shown_to_a_client_are_spelled_as_the_spec_spells_them():
    assert Scheme("s", "header", "x-api-key", "X-Api-Key").shown() == "header 'X-Api-Key'"
    assert Scheme("s", "query", "k").shown() == "query 'k'"
    assert Scheme("s", "authorization", "bearer").shown() == "Authorization: Bearer <credentials>"
    assert Scheme("s", "authorization", "digest").challenge() == "Digest"
    assert Scheme("s", "cookie", "sid").challenge() is None


@pytest.mark.parametrize("cookie, found", [
    ("sid=abc", "abc"), ("theme=dark; sid=abc", "abc"), ('sid="quoted"', "quoted"), ("sid = spaced ;x=1", None),
    ("sid=a=b", "a=b"), ("sid=first; sid=second", "first"), ("sid", None), ("=abc; sid=ok", "ok"), ("", None),
    ("theme=dark;sid=tight", "tight"), ('sid="XyX"', "XyX"), ("sid; sid=ok", "ok"),
])
def test_a_cookie_credential_is_read_from_the_cookie_header(cookie, found):
    doc = {"components": {"securitySchemes": {"c": {"type": "apiKey", "in": "cookie", "name": "sid"}}}}
    check = Check.of(requirements(doc, {"security": [{"c": []}]}), {"Cookie": cookie}, [])
    assert check.met is (found is not None) and check.secrets == ((found,) if found else ())


def test_a_header_credential_is_found_whatever_its_case():
    doc = {"components": {"securitySchemes": {"k": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}}}
    needed = requirements(doc, {"security": [{"k": []}]})
    assert Check.of(needed, {"X-API-KEY": "v1"}, []).secrets == ("v1",)
    assert not Check.of(needed, {"X-Api-Key": ""}, []).met
    assert Check.of(needed, {}, []).detail == "this operation needs credentials: header 'X-Api-Key'"


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


def test_a_scheme_that_refers_to_itself_asks_for_nothing_and_breaks_nothing():
    doc = {"components": {"securitySchemes": {"s": {"$ref": "#/components/securitySchemes/s"},
                                               "b": {"type": "http", "scheme": "bearer"}}}}
    assert requirements(doc, {"security": [{"s": []}]}) == []
    assert requirements(doc, {"security": [{"b": []}]}) == [[Scheme("b", "authorization", "bearer")]]


def test_an_unreadable_alternative_is_skipped_and_the_next_ones_kept():
    doc = {"components": {"securitySchemes": {"b": {"type": "http", "scheme": "bearer"}}}}
    assert requirements(doc, {"security": ["b", {"b": []}]}) == [[Scheme("b", "authorization", "bearer")]]


def test_credentials_after_the_scheme_word_are_taken_whole():
    doc = {"components": {"securitySchemes": {"b": {"type": "http", "scheme": "bearer"}}}}
    check = Check.of(requirements(doc, {"security": [{"b": []}]}), {"Authorization": "Bearer two words"}, [])
    assert check.met and check.secrets == ("two words",)
