"""Numbers stay finite (issue 12, item 5): the clock, etas, delays and journal cursors.

``POST /__mock/clock {"advance": 1.7e308}`` twice used to make the offset infinite (the clock
read null and every job was done until a global reset); ``?since=`` past 64 bits and a
100,000-deep JSON body to the admin API were 500s. Every such number is now checked and
bounded: out of range is a 400 that says the limit, never a 5xx or a broken clock.
"""

from __future__ import annotations

import json
import math

import pytest

from mockserver.control.latency import MAX_DURATION
from mockserver.state.clock import MAX_ADVANCE, MAX_OFFSET

INPAINT = "/api/v6/images/inpaint"


@pytest.fixture(params=["memory", "sqlite"])
def client(request, make_app, tmp_path):
    store = "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/mock.sqlite3"
    return make_app(store=store, processing_ratio=0.0).test_client()


def _queued(client, valid_body, eta=60):
    answer = client.post(INPAINT, json=valid_body, headers={"Prefer": f"variant=processing, eta={eta}"})
    assert answer.json["status"] == "processing"
    return answer.json["id"]


def _status(client, valid_body, job_id):
    return client.post(f"/api/v6/images/fetch/{job_id}", json={"key": valid_body["key"]}).json["status"]


@pytest.mark.parametrize("advance", [1.7e308, 1e300, MAX_ADVANCE * 2, float(2**63)])
def test_a_huge_clock_advance_is_a_400_and_the_clock_stays_finite(client, valid_body, advance):
    job_id = _queued(client, valid_body)
    for _ in range(2):
        answer = client.post("/__mock/clock", json={"advance": advance})
        assert answer.status_code == 400 and "at most" in answer.json["message"]
    now = client.get("/__mock/clock").json
    assert isinstance(now["now"], float) and math.isfinite(now["now"]) and now["offset"] == 0
    assert _status(client, valid_body, job_id) == "processing"


def test_advances_that_add_up_past_the_limit_are_refused(client, valid_body):
    job_id = _queued(client, valid_body)
    steps = int(MAX_OFFSET // MAX_ADVANCE)
    for _ in range(steps):
        assert client.post("/__mock/clock", json={"advance": MAX_ADVANCE}).status_code == 200
    refused = client.post("/__mock/clock", json={"advance": MAX_ADVANCE})
    assert refused.status_code == 400 and "reset" in refused.json["message"]
    clock = client.get("/__mock/clock").json
    assert math.isfinite(clock["now"]) and clock["offset"] == pytest.approx(steps * MAX_ADVANCE)
    assert _status(client, valid_body, job_id) == "success"
    per_key = client.post("/__mock/clock", json={"advance": MAX_ADVANCE, "key": valid_body["key"]})
    assert per_key.status_code == 400  # everyone's offset plus the key's own stay under the limit too


def test_the_clock_survives_an_infinite_offset_already_in_the_store(make_app, valid_body):
    app = make_app(processing_ratio=0.0)
    from mockserver.web.context import mock_state

    mock_state(app).store.set_clock_offset(float("inf"))
    client = app.test_client()
    clock = client.get("/__mock/clock").json
    assert math.isfinite(clock["now"])
    assert client.post("/__mock/clock", json={"advance": 1}).status_code in (200, 400)
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"


@pytest.mark.parametrize("eta", ["1e308", "1.7e308", str(MAX_DURATION * 2)])
def test_a_huge_eta_in_prefer_is_a_400(client, valid_body, eta):
    answer = client.post(INPAINT, json=valid_body, headers={"Prefer": f"variant=processing, eta={eta}"})
    assert answer.status_code == 400 and "eta" in answer.json["message"]


@pytest.mark.parametrize("field", ["eta", "delay"])
@pytest.mark.parametrize("value", [1e308, 1.7e308, "1e308s", MAX_DURATION * 2])
def test_a_huge_eta_or_delay_in_a_rule_is_a_400(client, field, value):
    answer = client.post("/__mock/rules", json={field: value})
    assert answer.status_code == 400 and field in answer.json["message"]


def test_a_huge_delay_in_prefer_is_a_400(client, valid_body):
    answer = client.post(INPAINT, json=valid_body, headers={"Prefer": "delay=1e308"})
    assert answer.status_code == 400 and "delay" in answer.json["message"]


def test_config_refuses_an_eta_past_the_limit():
    from mockserver.config import ConfigError, MockConfig

    with pytest.raises(ConfigError):
        MockConfig(eta_max=1e308)


@pytest.mark.parametrize("since", ["1" * 23, str(2**63), str(2**64 + 5), "99999999999999999999999999999"])
def test_since_past_64_bits_is_clamped_not_a_500(client, valid_body, since):
    client.post(INPAINT, json=valid_body)
    listed = client.get("/__mock/requests", query_string={"since": since})
    assert listed.status_code == 200 and listed.json["requests"] == []
    found = client.post("/__mock/requests/find", json={"since": int(since)})
    assert found.status_code == 200 and found.json["requests"] == []
    assert client.get("/__mock/requests/count", query_string={"since": since}).json["count"] == 0


@pytest.mark.parametrize("since", ["1e23", "-1e23", "nan", "inf", "1.5"])
def test_since_that_is_not_a_whole_number_is_a_400(client, since):
    answer = client.get("/__mock/requests", query_string={"since": since})
    assert answer.status_code == 400


def test_a_negative_since_is_everything(client, valid_body):
    client.post(INPAINT, json=valid_body)
    assert len(client.get("/__mock/requests", query_string={"since": "-5"}).json["requests"]) == 1


@pytest.mark.parametrize("path", ["/__mock/rules", "/__mock/requests/find", "/__mock/requests/count", "/__mock/reset",
                                  "/__mock/clock", "/__mock/webhooks/wait"])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_deeply_nested_json_to_the_admin_api_is_a_400(client, path, shape):
    depth = 100_000
    body = b"[" * depth + b"]" * depth if shape == "array" else b'{"a":' * depth + b"1" + b"}" * depth
    answer = client.post(path, data=body, content_type="application/json")
    assert answer.status_code == 400, (answer.status_code, answer.get_data()[:200])
    assert answer.json["status"] == "error"


@pytest.mark.parametrize("body", [b'{"advance": 1e999}', b'{"advance": NaN}', b"{not json", b'{"rules": [',
                                  b"\xff\xfe"])
def test_broken_json_to_the_admin_api_is_a_400(client, body):
    for path in ("/__mock/clock", "/__mock/rules", "/__mock/reset"):
        answer = client.post(path, data=body, content_type="application/json")
        assert answer.status_code == 400, (path, answer.status_code)
        json.dumps(answer.json)
