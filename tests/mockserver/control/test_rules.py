"""Scenario rules: match operation, key and body fields; answer with a variant, error, fault or delay."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.engine.pipeline import owner_of
from mockserver.control.rules import RuleError, field_matches, parse_rule
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def add_rule(client, **rule):
    response = client.post("/__mock/rules", json=rule)
    assert response.status_code == 201, response.json
    return response.json["rule"]


@pytest.fixture
def quiet(make_app):
    return make_app(processing_ratio=0.0)


@pytest.fixture
def client(quiet):
    return quiet.test_client()


# -- the issue's story ----------------------------------------------------------------------------

def test_the_next_two_requests_of_one_key_are_rate_limited_then_the_third_succeeds(client, valid_body):
    add_rule(client, key="ci-worker-1", operation="inpaint", times=2, respond={"error": "rate_limit"})
    mine = dict(valid_body, key="ci-worker-1")
    first, second, third = (post(client, INPAINT, mine) for _ in range(3))
    for limited in (first, second):
        assert limited.json == {"status": "error", "message": "Rate limit exceeded",
                                "tips": limited.json["tips"]} and limited.status_code == 200
        assert limited.headers["X-Mock-Rule"]
    assert third.json["status"] == "success"
    assert post(client, INPAINT, dict(valid_body, key="someone-else")).json["status"] == "success"


def test_under_http_errors_a_rate_limit_rule_is_a_429_with_retry_after(make_app, valid_body):
    client = make_app(processing_ratio=0.0, http_errors=True).test_client()
    add_rule(client, times=1, respond={"error": "rate_limit"})
    limited = post(client, INPAINT, valid_body)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert post(client, INPAINT, valid_body).status_code == 200


# -- matching ------------------------------------------------------------------------------------

def test_rules_match_body_fields_and_answer_with_a_variant_and_eta(client, valid_body):
    add_rule(client, match={"prompt": {"contains": "dragon"}, "samples": 2},
             respond={"variant": "processing", "eta": 42})
    queued = post(client, INPAINT, dict(valid_body, prompt="A red DRAGON", samples="2")).json
    assert queued["status"] == "processing" and queued["eta"] == 42.0
    assert post(client, INPAINT, dict(valid_body, prompt="A red DRAGON")).json["status"] == "success"
    assert post(client, INPAINT, dict(valid_body, samples=2)).json["status"] == "success"


def test_a_rule_can_make_queued_jobs_end_failed(client, valid_body):
    add_rule(client, respond={"eta": 5, "outcome": "failed"})
    job = post(client, INPAINT, valid_body).json["id"]
    client.post("/__mock/clock", json={"advance": 6})
    assert post(client, f"{FETCH}/{job}", {"key": valid_body["key"]}).json["status"] == "failed"


def test_the_highest_priority_then_the_newest_rule_answers(client, valid_body):
    add_rule(client, id="old", respond={"variant": "failed"})
    add_rule(client, id="new", respond={"variant": "processing", "eta": 3})
    assert post(client, INPAINT, valid_body).headers["X-Mock-Rule"] == "new"
    add_rule(client, id="urgent", priority=1, respond={"error": "server"})
    assert post(client, INPAINT, valid_body).json["message"] == "Internal server error. Please try again."


def test_an_error_rule_acts_before_validation_like_a_gateway(client, valid_body):
    add_rule(client, times=1, respond={"error": "rate_limit"})
    invalid = dict(valid_body, width=3)
    assert post(client, INPAINT, invalid).json["message"] == "Rate limit exceeded"
    assert "width" in post(client, INPAINT, invalid).json["message"]


def test_a_variant_rule_is_used_up_only_by_valid_requests(client, valid_body):
    add_rule(client, id="once", times=1, respond={"variant": "failed"})
    assert "width" in post(client, INPAINT, dict(valid_body, width=3)).json["message"]
    assert post(client, INPAINT, dict(valid_body, model_id="nope")).json["message"] == "Model id not found"
    assert post(client, INPAINT, valid_body).json["status"] == "failed"
    assert post(client, INPAINT, valid_body).json["status"] == "success"


def test_prefer_beats_rules_and_leaves_them_unused(client, valid_body):
    add_rule(client, times=1, respond={"error": "rate_limit"})
    assert post(client, INPAINT, valid_body, Prefer="variant=success").json["status"] == "success"
    assert post(client, INPAINT, valid_body).json["message"] == "Rate limit exceeded"


def test_rules_can_target_fetches_with_an_error_or_a_delay(quiet, valid_body):
    client = quiet.test_client()
    slept = []
    mock_state(quiet).engine.sleep = slept.append
    job = post(client, INPAINT, valid_body).json["id"]
    add_rule(client, operation="fetchById", match={"id": str(job)}, respond={"delay": "1500ms"})
    add_rule(client, operation="fetch", times=1, respond={"error": "server"})  # newer: answers first
    assert post(client, f"{FETCH}/{job}", {"key": "test-key"}).json["message"].startswith("Internal server error")
    delayed = post(client, f"{FETCH}/{job}", {"key": "test-key"})
    assert delayed.json["status"] == "success" and delayed.headers["X-Mock-Delay"] == "1.5"
    assert slept == [1.5]
    assert post(client, INPAINT, valid_body).headers.get("X-Mock-Rule") is None, "fetch rules leave inpaint alone"


def test_a_rule_can_inject_a_fault(client, valid_body):
    add_rule(client, times=1, respond={"fault": "bad_gateway"})
    outage = post(client, INPAINT, valid_body)
    assert outage.status_code == 502 and b"502 Bad Gateway" in outage.data
    assert outage.headers["Content-Type"].startswith("text/html")


def test_times_is_used_up_exactly_once_per_request_under_concurrency(quiet, valid_body):
    add_rule(quiet.test_client(), times=5, respond={"error": "rate_limit"})
    statuses: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        client = quiet.test_client()
        for _ in range(6):
            status = post(client, INPAINT, valid_body).json["status"]
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count("error") == 5 and statuses.count("success") == 19


# -- the admin endpoints -------------------------------------------------------------------------

def test_rules_are_listed_read_and_deleted(client, valid_body):
    rule = add_rule(client, id="r1", key="k", times=3, description="flaky", respond={"error": "server"})
    assert rule["owner"] == owner_of("k") and rule["times"] == rule["limit"] == 3
    post(client, INPAINT, dict(valid_body, key="k"))
    listed = client.get("/__mock/rules").json["rules"]
    assert [(r["id"], r["times"], r["matched"]) for r in listed] == [("r1", 2, 1)]
    assert client.get("/__mock/rules/r1").json["rule"]["description"] == "flaky"
    assert client.delete("/__mock/rules/r1").json["deleted"] == 1
    assert client.get("/__mock/rules/r1").status_code == 404
    assert client.delete("/__mock/rules/r1").status_code == 404
    assert post(client, INPAINT, dict(valid_body, key="k")).json["status"] == "success"


def test_rules_are_namespaced_by_key_for_listing_deleting_and_reset(client):
    add_rule(client, id="a", key="alice", respond={"variant": "failed"})
    add_rule(client, id="b", key="bob", respond={"variant": "failed"})
    add_rule(client, id="everyone", respond={"delay": 0})
    assert [r["id"] for r in client.get("/__mock/rules?key=alice").json["rules"]] == ["a"]
    assert client.delete("/__mock/rules", json={"key": "alice"}).json["deleted"] == 1
    client.post("/__mock/reset", json={"key": "bob"})
    assert [r["id"] for r in client.get("/__mock/rules").json["rules"]] == ["everyone"]
    assert client.delete("/__mock/rules").json["deleted"] == 1
    assert client.get("/__mock/rules").json["rules"] == []


def test_a_rule_never_stores_the_key(quiet):
    add_rule(quiet.test_client(), key="very-secret-key", respond={"variant": "failed"})
    assert "very-secret-key" not in json.dumps(mock_state(quiet).store.rules())


def test_several_rules_are_added_all_or_nothing(client):
    bad = client.post("/__mock/rules", json={"rules": [{"respond": {"variant": "failed"}}, {"respond": {}}]})
    assert bad.status_code == 400 and client.get("/__mock/rules").json["rules"] == []
    good = client.post("/__mock/rules", json={"rules": [{"variant": "failed"}, {"error": "server", "times": 1}]})
    assert good.status_code == 201 and len(good.json["rules"]) == 2


@pytest.mark.parametrize("rule, words", [
    ({}, "must say what to answer"),
    ({"variant": "maybe"}, "respond.variant must be one of"),
    ({"error": "boom"}, "respond.error must be one of"),
    ({"fault": "meltdown"}, "respond.fault must be one of"),
    ({"code": 418}, "respond.code must be one of"),
    ({"delay": "soon"}, "respond.delay must be a duration"),
    ({"variant": "failed", "times": 0}, "times must be a whole number from 1"),
    ({"variant": "failed", "operation": "txt2img"}, "operation 'txt2img' is unknown"),
    ({"variant": "failed", "match": {"prompt": {"matches": "("}}}, "not a pattern RE2 can run"),
    ({"variant": "failed", "match": {"prompt": {"like": "x"}}}, "use a value, or one of"),
    ({"variant": "failed", "match": {"key": "k"}}, "rule's \"key\" field"),
    ({"variant": "failed", "colour": "red"}, "unknown rule field(s) colour"),
    ({"variant": "failed", "respond": {"variant": "success"}}, "given both at the top level and in respond"),
])
def test_a_bad_rule_is_refused_with_a_message_naming_the_problem(client, rule, words):
    response = client.post("/__mock/rules", json=rule)
    assert response.status_code == 400 and words in response.json["message"]


# -- matchers -------------------------------------------------------------------------------------

def test_matcher_operators():
    body = {"prompt": "A cat on a bench", "samples": 2, "seed": None, "tags": ["x", "y"]}
    assert field_matches(body, "samples", 2) and field_matches(body, "samples", "2")
    assert field_matches(body, "prompt", {"contains": "CAT"})
    assert field_matches(body, "prompt", {"matches": r"^A \w+ on"})
    assert field_matches(body, "samples", {"in": [1, 2]}) and not field_matches(body, "samples", {"in": [3]})
    assert field_matches(body, "seed", {"absent": True}) and field_matches(body, "width", {"absent": True})
    assert field_matches(body, "prompt", {"present": True}) and not field_matches(body, "seed", {"present": True})
    assert field_matches(body, "tags", {"contains": "y"})
    assert not field_matches(body, "samples", True), "a boolean never equals a number"


@given(value=st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.floats(allow_nan=False)))
def test_a_value_always_matches_itself_and_equality_is_symmetric(value):
    assert field_matches({"f": value}, "f", value)
    other = str(value)
    assert field_matches({"f": value}, "f", other) == field_matches({"f": other}, "f", value)


def test_parse_rule_keeps_only_the_key_namespace(quiet):
    names = mock_state(quiet).rules.names
    rule = parse_rule({"key": "abc", "variant": "failed"}, owner_of, names=names)
    assert rule["owner"] == owner_of("abc") and "abc" not in json.dumps(rule)
    with pytest.raises(RuleError):
        parse_rule([], owner_of, names=names)


@pytest.mark.parametrize("rule", [
    {"variant": "failed", "match": {"seed": 2**70}},
    {"variant": "failed", "times": 10**12},
    {"variant": "failed", "description": "\ud800"},
])
def test_a_rule_every_store_can_keep_or_a_400(make_app, tmp_path, rule):
    client = make_app(store=f"sqlite:///{tmp_path}/mock.sqlite3").test_client()
    assert client.post("/__mock/rules", json=rule).status_code == 400
    assert client.post("/__mock/rules", json={"variant": "failed", "match": {"seed": 2**62}}).status_code == 201
