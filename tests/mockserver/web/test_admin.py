"""The admin API: documented endpoint by endpoint, namespaced by key, clear about bad input."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def _described(rule: str) -> str:
    """A Flask rule as the description writes it: ``/jobs/<int:job_id>`` -> ``/jobs/{job_id}``."""
    import re

    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.replace("<rule_id>", "{id}"))


def test_the_admin_api_describes_itself_and_every_route_is_in_the_description(app, client):
    response = client.get("/__mock/openapi.yaml")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    document = yaml.safe_load(response.data)
    validate(document)
    described = {(path, method) for path, item in document["paths"].items()
                 for method in item if method in ("get", "post", "delete", "put", "patch")}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/__mock/"):
            path = _described(rule.rule)[len("/__mock"):]
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described


def test_the_admin_api_page_names_every_route(app):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "admin-api.md").read_text()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/__mock/"):
            assert _described(rule.rule) in text, rule.rule


def test_health_reports_seed_and_counters(client):
    health = client.get("/__mock/health").json
    assert health["status"] == "ok" and health["seed"] == 1234
    assert set(health["webhooks"]) >= {"queued", "in_flight"} and "hits" in health["image_cache"]


def test_reset_of_one_key_leaves_the_others_alone(client, valid_body):
    alice = post(client, INPAINT, dict(valid_body, key="alice")).json["id"]
    bob = post(client, INPAINT, dict(valid_body, key="bob")).json["id"]
    client.post("/__mock/rules", json={"key": "bob", "variant": "failed"})
    client.post("/__mock/clock", json={"advance": 100, "key": "bob"})
    assert client.post("/__mock/reset", json={"key": "bob"}).json == {"status": "ok", "scope": "key"}
    assert post(client, f"{FETCH}/{bob}", {"key": "bob"}).json["status"] == "error"
    assert post(client, f"{FETCH}/{alice}", {"key": "alice"}).json["status"] == "success"
    assert client.get("/__mock/clock?key=bob").json["offset"] == 0
    assert client.get("/__mock/rules").json["rules"] == []
    assert client.get("/__mock/requests/count?key=alice").json["count"] == 2


def test_a_full_reset_replays_like_a_fresh_mock(client, valid_body):
    first = post(client, INPAINT, valid_body).data
    assert client.post("/__mock/reset").json["scope"] == "all"
    assert post(client, INPAINT, valid_body).data == first
    assert client.get("/__mock/requests/count").json["count"] == 1


def test_the_clock_moves_per_key(client, valid_body):
    queued = post(client, INPAINT, dict(valid_body, key="alice"), Prefer="eta=50").json["id"]
    moved = client.post("/__mock/clock", json={"advance": 60, "key": "bob"}).json
    assert moved["offset"] == 60
    assert post(client, f"{FETCH}/{queued}", {"key": "alice"}).json["status"] == "processing"
    client.post("/__mock/clock", json={"advance": 60, "key": "alice"})
    assert post(client, f"{FETCH}/{queued}", {"key": "alice"}).json["status"] == "success"


@pytest.mark.parametrize("method, path, body", [
    ("post", "/__mock/clock", {"advance": -1}),
    ("post", "/__mock/clock", {"advance": True}),
    ("post", "/__mock/rules", [1, 2]),
    ("post", "/__mock/rules", {"rules": []}),
    ("get", "/__mock/requests?status=abc", None),
    ("post", "/__mock/requests/count", {"match": "prompt"}),
    ("post", "/__mock/requests/count", {"match": {"prompt": {"regex": "x"}}}),
    ("post", "/__mock/requests/find", {"job": 1}),
    ("get", "/__mock/webhooks?job_id=x", None),
    ("post", "/__mock/webhooks/wait", {"timeout": 3600}),
])
def test_bad_admin_input_is_a_400_json_message(client, method, path, body):
    response = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert response.status_code == 400 and response.json["status"] == "error" and response.json["message"]


def test_an_unknown_rule_is_a_404(client):
    assert client.get("/__mock/rules/missing").status_code == 404
    assert client.delete("/__mock/rules/missing").json["status"] == "error"


def test_waiting_for_webhooks_with_nothing_to_do_is_immediate(client):
    answer = client.post("/__mock/webhooks/wait", json={"timeout": 0}).json
    assert answer["idle"] is True and answer["in_flight"] == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
rule_fields = st.sampled_from(["id", "key", "operation", "match", "times", "priority", "respond", "variant", "eta",
                               "error", "fault", "delay", "code", "webhook", "outcome", "rules", "expect", "limit",
                               "since", "job_id", "status", "track_id", "advance", "timeout"])


@given(path=st.sampled_from(["/__mock/rules", "/__mock/requests/count", "/__mock/requests/find", "/__mock/clock",
                             "/__mock/reset", "/__mock/webhooks/wait"]),
       body=st.dictionaries(rule_fields | st.text(max_size=6), json_values, max_size=6) | json_values)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_admin_body_makes_a_server_error(app, path, body):
    if path == "/__mock/webhooks/wait" and isinstance(body, dict):
        body.pop("timeout", None)  # a legal timeout would only make the test slow
    response = app.test_client().post(path, json=body)
    assert response.status_code < 500, response.data


# ------------------------------------------------------------------------------ pages of other sites


def _a_job(client) -> int:
    body = {"key": "csrf-key", "model_id": "pony-realism", "prompt": "p", "init_image": "https://x/i.png",
            "mask_image": "https://x/m.png"}
    made = post(client, INPAINT, body, Prefer="variant=processing").get_json()
    assert made["status"] == "processing"
    return made["id"]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://localhost", "http://localhost:1",
                                    "http://localhost.evil.example"])
def test_a_page_of_another_site_cannot_reset_the_mock_or_add_rules(client, origin):
    job_id = _a_job(client)
    reset = client.post("/__mock/reset", headers={"Origin": origin})
    assert reset.status_code == 403 and reset.get_json()["status"] == "error"
    assert "cross-origin requests to the admin API are refused" in reset.get_json()["message"]
    rule = client.post("/__mock/rules", data=json.dumps({"operation": "*", "respond": {"status": 500}}),
                       content_type="text/plain", headers={"Origin": origin})
    assert rule.status_code == 403
    assert client.get("/__mock/rules").get_json()["rules"] == [], "no rule was added"
    fetched = post(client, f"{FETCH}/{job_id}", {"key": "csrf-key"}).get_json()
    assert fetched["status"] == "processing", "nothing was reset"


def test_the_mock_own_pages_and_clients_without_an_origin_are_answered(client):
    assert client.post("/__mock/reset", headers={"Origin": "http://localhost"}).status_code == 200
    assert client.post("/__mock/reset").status_code == 200, "curl and test code send no Origin"
    own = client.get("/__mock/requests", headers={"Host": "127.0.0.1:4010", "Origin": "http://127.0.0.1:4010"})
    assert own.status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:4010", "192.168.1.20:4010", "localhost.evil"])
def test_without_a_token_the_admin_api_answers_only_requests_addressed_to_this_machine(client, host):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name, which its requests carry as Host."""
    answer = client.get("/__mock/requests", headers={"Host": host})
    assert answer.status_code == 403
    assert "addressed to this machine only" in answer.get_json()["message"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:4010", "127.0.0.1:4010", "127.3.4.5", "[::1]:4010", "::1"])
def test_loopback_names_reach_the_admin_api(client, host):
    assert client.get("/__mock/requests", headers={"Host": host}).status_code == 200


def test_a_token_or_the_public_url_lets_other_names_in(make_app):
    tokened = make_app(admin_token="t0ken-123").test_client()
    headers = {"Host": "mock.internal:4010", "Authorization": "Bearer t0ken-123"}
    assert tokened.get("/__mock/requests", headers=headers).status_code == 200
    assert tokened.get("/__mock/requests", headers={**headers, "Origin": "http://evil.example"}).status_code == 403
    public = make_app(public_url="https://mock.example.org/base").test_client()
    assert public.get("/__mock/requests", headers={"Host": "mock.example.org"}).status_code == 200
    assert public.post("/__mock/reset", headers={"Host": "127.0.0.1:4010",
                                                  "Origin": "https://mock.example.org"}).status_code == 200
