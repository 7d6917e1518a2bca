"""Latency: Prefer delay=, per-operation distributions from the config, a cap, replay from the seed."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.config import ConfigError, MockConfig
from mockserver.control.latency import LatencyError, LatencySpec, parse_duration, parse_spec
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def recording(app):
    """The app's test client, and the list its engine's sleeps go to (no real waiting)."""
    slept: list[float] = []
    mock_state(app).engine.sleep = slept.append
    return app.test_client(), slept


@pytest.mark.parametrize("text, seconds", [("250ms", 0.25), ("1.5s", 1.5), ("2", 2.0), (" 0 ", 0.0),
                                           (3, 3.0), (0.5, 0.5), ("1e3ms", 1.0)])
def test_durations_are_seconds_unless_they_say_ms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-1", "soon", "nan", "inf", "1h", "", True, float("inf")])
def test_bad_durations_are_refused(text):
    with pytest.raises(LatencyError):
        parse_duration(text)


@pytest.mark.parametrize("text, spec", [
    ("", LatencySpec()), ("0.2", LatencySpec("fixed", 0.2)), ("fixed:250ms", LatencySpec("fixed", 0.25)),
    ("uniform:0.1,0.5", LatencySpec("uniform", 0.1, 0.5)), ("lognormal:0.3,0.5", LatencySpec("lognormal", 0.3, 0.5)),
])
def test_latency_specs(text, spec):
    assert parse_spec(text) == spec


@pytest.mark.parametrize("text", ["uniform:2,1", "uniform:1", "gamma:1,2", "fixed:1,2", "lognormal:1,x",
                                  "lognormal:1,9"])
def test_bad_latency_specs_are_refused_and_checked_in_the_config(text):
    with pytest.raises(LatencyError):
        parse_spec(text)
    with pytest.raises(ConfigError):
        MockConfig(latency_generate=text)


@given(a=st.floats(0, 10), width=st.floats(0, 10), seed=st.integers(0, 2**32))
def test_uniform_draws_stay_in_range(a, width, seed):
    spec = LatencySpec("uniform", a, a + width)
    assert a <= spec.draw(random.Random(seed)) <= a + width + 1e-9


@given(median=st.floats(0.001, 10), sigma=st.floats(0, 2), seed=st.integers(0, 2**32))
def test_lognormal_draws_are_positive_and_replayable(median, sigma, seed):
    spec = LatencySpec("lognormal", median, sigma)
    value = spec.draw(random.Random(seed))
    assert value > 0 and math.isfinite(value) and value == spec.draw(random.Random(seed))


def test_prefer_delay_waits_and_says_so(make_app, valid_body):
    client, slept = recording(make_app(processing_ratio=0.0))
    response = post(client, INPAINT, valid_body, Prefer="delay=250ms")
    assert response.json["status"] == "success" and response.headers["X-Mock-Delay"] == "0.25"
    assert slept == [0.25]
    [entry] = client.get("/__mock/requests").json["requests"]
    assert entry["delay"] == 0.25


def test_prefer_delay_is_capped(make_app, valid_body):
    client, slept = recording(make_app(max_delay=2.0))
    post(client, INPAINT, valid_body, Prefer="delay=600")
    assert slept == [2.0]


def test_bad_prefer_delay_is_a_clear_400(make_app, valid_body):
    client, slept = recording(make_app())
    response = post(client, INPAINT, valid_body, Prefer="delay=later")
    assert response.status_code == 400 and "seconds" in response.json["message"] and slept == []


def test_configured_latency_is_per_operation_and_replays_from_the_seed(make_app, valid_body):
    def run(seed):
        client, slept = recording(make_app(seed=seed, processing_ratio=0.0, latency_generate="uniform:0.1,0.4",
                                           latency_fetch="fixed:0.05"))
        for _ in range(20):
            job = post(client, INPAINT, valid_body).json["id"]
            post(client, f"{FETCH}/{job}", {"key": valid_body["key"]})
        return slept

    first = run(3)
    inpaints, fetches = first[0::2], first[1::2]
    assert all(0.1 <= s <= 0.4 for s in inpaints) and len(set(inpaints)) > 10
    assert fetches == [0.05] * 20
    assert first == run(3) and first != run(4)


def test_the_general_latency_applies_where_no_operation_overrides_it(make_app, valid_body):
    client, slept = recording(make_app(processing_ratio=0.0, latency="fixed:0.01", latency_fetch="fixed:0.2"))
    job = post(client, INPAINT, valid_body).json["id"]
    post(client, f"{FETCH}/{job}", {"key": valid_body["key"]})
    assert slept == [0.01, 0.2]


def test_no_latency_means_no_wait_and_no_header(make_app, valid_body):
    client, slept = recording(make_app())
    assert "X-Mock-Delay" not in post(client, INPAINT, valid_body).headers and slept == []


def test_output_files_have_their_own_latency(make_app, valid_body):
    client, slept = recording(make_app(processing_ratio=0.0, latency_image="fixed:0.3"))
    url = post(client, INPAINT, valid_body).json["output"][0]
    assert slept == []
    assert client.get(url.replace("http://localhost", "")).headers["X-Mock-Delay"] == "0.3" and slept == [0.3]


def test_latency_inpaint_is_the_old_name_of_latency_generate(make_app, valid_body):
    client, slept = recording(make_app(processing_ratio=0.0, latency_inpaint="fixed:0.02"))
    post(client, INPAINT, valid_body)
    client, newer = recording(make_app(processing_ratio=0.0, latency_inpaint="fixed:0.02", latency_generate="fixed:0.03"))
    post(client, INPAINT, valid_body)
    assert slept == [0.02] and newer == [0.03]
