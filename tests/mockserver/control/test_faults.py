"""Faults: rate limits, gateway outages with HTML pages, connection resets and truncated JSON."""

from __future__ import annotations

import json
import random

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from mockserver.config import ConfigError, MockConfig
from mockserver.control.faults import AFTER, BEFORE, FAULTS, FaultPlan, gateway_page, truncate
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def client(make_app):
    return make_app(processing_ratio=0.0).test_client()


def journal(client, **query):
    return client.get("/__mock/requests", query_string=query).json["requests"]


def test_rate_limit_is_the_real_body_with_http_200(client, valid_body):
    limited = post(client, INPAINT, valid_body, Prefer="fault=rate_limit")
    assert limited.status_code == 200 and limited.headers["X-Mock-Fault"] == "rate_limit"
    assert limited.json["message"] == "Rate limit exceeded" and "30 seconds" in limited.json["tips"]
    assert "Retry-After" not in limited.headers


def test_rate_limit_under_http_errors_is_429_with_retry_after(make_app, valid_body):
    limited = post(make_app(http_errors=True).test_client(), INPAINT, valid_body, Prefer="fault=rate_limit")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"


@pytest.mark.parametrize("fault, status, words", [
    ("outage", 503, b"503 Service Temporarily Unavailable"),
    ("bad_gateway", 502, b"502 Bad Gateway"),
    ("gateway_timeout", 504, b"504 Gateway Time-out"),
    ("cloudflare_timeout", 524, b"Error code 524"),
])
def test_an_outage_is_a_gateway_html_page_and_no_job_is_made(client, valid_body, fault, status, words):
    response = post(client, INPAINT, valid_body, Prefer=f"fault={fault}")
    assert response.status_code == status and words in response.data
    assert response.mimetype == "text/html" and response.data.lstrip().startswith((b"<html>", b"<!DOCTYPE html>"))
    [entry] = journal(client)
    assert entry["fault"] == fault and entry["job_id"] is None and entry["status"] == status


def test_truncated_json_is_half_a_body_that_does_not_parse_and_the_job_exists(client, valid_body):
    response = post(client, INPAINT, valid_body, Prefer="fault=truncated")
    assert response.status_code == 200 and response.headers["X-Mock-Fault"] == "truncated"
    assert int(response.headers["Content-Length"]) == len(response.data)
    with pytest.raises(ValueError):
        json.loads(response.data)
    assert response.data.startswith(b'{"status":"success"')
    [entry] = journal(client)
    fetched = post(client, f"{FETCH}/{entry['job_id']}", {"key": valid_body["key"]}).json
    assert fetched["status"] == "success", "the request was handled; only the answer was cut"


def test_reset_without_a_socket_falls_back_to_a_truncated_body(client, valid_body):
    response = post(client, INPAINT, valid_body, Prefer="fault=reset")
    assert response.headers["X-Mock-Fault"] == "reset"
    with pytest.raises(ValueError):
        json.loads(response.data)


def test_reset_on_a_real_socket_drops_the_connection_and_the_server_carries_on(live_server, valid_body):
    server = live_server(processing_ratio=0.0)
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            session.post(server.url + INPAINT, json=valid_body, headers={"Prefer": "fault=reset"}, timeout=10)
        assert session.post(server.url + INPAINT, json=valid_body, timeout=10).json()["status"] == "success"
    entries = requests.get(server.url + "/__mock/requests", timeout=10).json()["requests"]
    assert [e["fault"] for e in entries] == ["reset", None]


def test_unknown_fault_is_a_clear_400(client, valid_body):
    response = post(client, INPAINT, valid_body, Prefer="fault=meltdown")
    assert response.status_code == 400 and "outage" in response.json["message"]


def test_faults_hit_fetches_too(client, valid_body):
    job = post(client, INPAINT, valid_body).json["id"]
    assert post(client, f"{FETCH}/{job}", {"key": "test-key"}, Prefer="fault=outage").status_code == 503


def test_configured_probabilities_schedule_faults_and_replay_from_the_seed(make_app, valid_body):
    def run(seed):
        client = make_app(seed=seed, processing_ratio=0.0, fault_rate_limit_ratio=0.2, fault_outage_ratio=0.1,
                          fault_truncated_ratio=0.1).test_client()
        return [post(client, INPAINT, valid_body).headers.get("X-Mock-Fault") for _ in range(200)]

    first = run(5)
    assert first == run(5), "the same seed gives the same faults"
    assert first != run(6)
    assert 20 <= first.count("rate_limit") <= 60 and 5 <= first.count("outage") <= 35
    assert 5 <= first.count("truncated") <= 35 and first.count(None) >= 80


def test_ratio_one_makes_every_request_an_outage(make_app, valid_body):
    client = make_app(fault_outage_ratio=1.0).test_client()
    assert {post(client, INPAINT, valid_body).status_code for _ in range(5)} == {503}


def test_fault_ratios_are_checked():
    with pytest.raises(ConfigError, match="add up to at most 1"):
        MockConfig(fault_outage_ratio=0.6, fault_reset_ratio=0.6)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        MockConfig(fault_truncated_ratio=1.5)


def test_no_fault_configured_means_no_draw_from_the_rng(make_app):
    services = mock_state(make_app()).services
    before = services.rng.draw(lambda r: r.getstate())
    assert services.faults.sample() is None
    assert services.rng.draw(lambda r: r.getstate()) == before


# -- units ---------------------------------------------------------------------------------------

@given(data=st.binary(min_size=2, max_size=500))
def test_truncate_keeps_a_proper_prefix(data):
    cut = truncate(data)
    assert data.startswith(cut) and 0 < len(cut) < len(data)


def test_every_gateway_fault_has_a_page_and_only_those():
    for fault, status in BEFORE.items():
        if status is None:
            with pytest.raises(ValueError):
                gateway_page(fault)
        else:
            code, page, headers = gateway_page(fault)
            assert code == status and str(status).encode() in page and headers["Content-Type"].startswith("text/html")
    assert set(FAULTS) == set(BEFORE) | set(AFTER)


def test_fault_plan_draws_in_proportion():
    rng = random.Random(1)
    plan = FaultPlan({"outage": 0.25, "reset": 0.25}, lambda fn: fn(rng))
    draws = [plan.sample() for _ in range(4000)]
    assert 850 <= draws.count("outage") <= 1150 and 850 <= draws.count("reset") <= 1150
    with pytest.raises(ValueError):
        FaultPlan({"explode": 0.1}, lambda fn: fn(rng))
