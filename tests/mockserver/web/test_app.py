"""The mock as a client sees it: routes, compat and strict, error bodies, variants, fetch lifecycle."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.config import KeyRule

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
JSON_TIP_START = "1. Make sure you are passing Content-Type: application/json in header."


def post(client, path, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type=headers.pop("content_type", "application/json"),
                       headers=headers)


def advance(client, seconds, key=None):
    body = {"advance": seconds} | ({"key": key} if key else {})
    assert client.post("/__mock/clock", json=body).status_code == 200


# -- routing: JSON for everything, never HTML -------------------------------------------------

def test_unknown_path_is_a_json_404(client):
    response = client.get("/api/v6/images/nope")
    assert response.status_code == 404
    assert response.is_json and response.json["status"] == "error"


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.get(INPAINT)
    assert response.status_code == 405
    assert response.is_json
    assert "POST" in response.headers["Allow"]


def test_health(client):
    response = client.get("/__mock/health")
    assert response.status_code == 200 and response.json["status"] == "ok"


# -- the documentation's example: compat accepts it, strict names every violation --------------

def test_docs_example_is_accepted_in_compat_mode_with_warnings(client, docs_example):
    response = post(client, INPAINT, docs_example)
    assert response.status_code == 200
    assert response.json["status"] in ("success", "processing")
    warnings = response.headers["X-Mock-Warnings"]
    for field in ("width", "height", "samples", "steps", "clip_skip"):
        assert f'{field}: "' in warnings
    # the family spec takes null for optional strings (the docs and the older package send it)
    assert "negative_prompt" not in warnings and "webhook" not in warnings and "track_id" not in warnings
    assert response.json["meta"]["W"] == 512 and response.json["meta"]["steps"] == 21


def test_docs_example_is_rejected_in_strict_mode_naming_each_violation(make_app, docs_example):
    response = post(make_app(strict=True).test_client(), INPAINT, docs_example)
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "error"
    assert body["message"] == {  # numbers sent as strings; the family spec allows its nulls
        "width": ["The width field must be an integer."],
        "height": ["The height field must be an integer."],
        "samples": ["The samples field must be an integer."],
        "steps": ["The steps field must be an integer."],
        "clip_skip": ["The clip skip field must be an integer."],
    }


def test_strict_rejects_unknown_fields_and_aliases(make_app, valid_body):
    valid_body.update(num_inference_steps=30, colour="red")  # the family's inpaint has both step fields
    body = post(make_app(strict=True).test_client(), INPAINT, valid_body).json
    assert body["message"] == {"colour": ["The colour field is prohibited."]}
    body = post(make_app(strict=True, spec="modelslab-pony-inpaint.yaml").test_client(), INPAINT, valid_body).json
    assert body["message"] == {
        "num_inference_steps": ["The num inference steps field is prohibited."],
        "colour": ["The colour field is prohibited."],
    }


def test_compat_reads_sloppy_forms_and_says_so(client, make_app, valid_body):
    valid_body.update(width="768", safety_checker=True, num_inference_steps="30", seed=None,
                      negative_prompt=None, extra_thing=1, use_karras_sigmas="false")
    response = post(client, INPAINT, valid_body)
    assert response.json["status"] == "success"
    meta = response.json["meta"]
    # num_inference_steps is a field of the family's inpaint, capped at 20 (x-mock-clamp); steps is 21 by default
    # and wins only when sent
    assert (meta["W"], meta["steps"], meta["safety_checker"], meta["use_karras_sigmas"]) == (768, 20, "yes", "no")
    assert isinstance(meta["seed"], int)
    warnings = response.headers["X-Mock-Warnings"]
    assert 'width: "768" read as 768' in warnings
    assert 'num_inference_steps: "30" read as 30' in warnings
    assert "num_inference_steps: 30 is above the maximum 20; used as 20" in warnings
    assert "extra_thing: unknown field ignored" in warnings
    pony = post(make_app(processing_ratio=0.0, spec="modelslab-pony-inpaint.yaml").test_client(), INPAINT, valid_body)
    assert pony.json["meta"]["steps"] == 30 and "num_inference_steps: read as steps" in pony.headers["X-Mock-Warnings"]


def test_valid_request_has_no_warning_header(client, valid_body):
    assert "X-Mock-Warnings" not in post(client, INPAINT, valid_body).headers


def test_warning_header_cannot_be_split_by_client_input(client, valid_body):
    valid_body["bad\r\nX-Injected: 1"] = 1
    response = post(client, INPAINT, valid_body)
    assert "X-Injected" not in response.headers
    assert "\n" not in response.headers["X-Mock-Warnings"]


# -- the real service's error bodies -----------------------------------------------------------

def test_missing_fields_are_laravel_field_errors(client):
    body = post(client, INPAINT, {"key": "k", "model_id": "pony-realism"}).json
    assert body == {"status": "error", "message": {
        "init_image": ["The init image field is required."],
        "mask_image": ["The mask image field is required."],
    }}


@pytest.mark.parametrize("key", [None, "", "   ", 123])
def test_missing_or_bad_key_is_invalid_api_key(client, valid_body, key):
    if key is None:
        del valid_body["key"]
    else:
        valid_body["key"] = key
    body = post(client, INPAINT, valid_body).json
    assert body["status"] == "error" and body["message"] == "Invalid Api Key"
    assert body["tip"].endswith("4. Make sure you have valid API key.")


def test_key_table_can_revoke_a_key_or_allow_only_listed_keys(make_app, valid_body):
    client = make_app(keys={"revoked": KeyRule(valid=False)}).test_client()
    assert post(client, INPAINT, dict(valid_body, key="revoked")).json["message"] == "Invalid Api Key"
    closed = make_app(accept_any_key=False, keys={"good": KeyRule()}).test_client()
    assert post(closed, INPAINT, dict(valid_body, key="other")).json["message"] == "Invalid Api Key"
    assert post(closed, INPAINT, dict(valid_body, key="good")).json["status"] == "success"


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b'{"key": "k",', "application/json"),
        (b"\xff\xfe\x00not utf-8", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"key": "k", "key": "again"}', "application/json"),
        (b'{"key": "k", "width": NaN}', "application/json"),
        (b'{"key": "k", "width": 1e999}', "application/json"),
        (b"key=k&model_id=pony-realism", "application/x-www-form-urlencoded"),
        (b'{"key": "k"}', "text/plain"),
    ],
)
def test_malformed_json_or_wrong_content_type_is_invalid_api_request(client, raw, content_type):
    response = client.post(INPAINT, data=raw, content_type=content_type)
    assert response.status_code == 200
    assert response.json["message"] == "Invalid API Request"
    assert response.json["tip"].startswith(JSON_TIP_START)


def test_unknown_model_is_model_id_not_found(client, valid_body):
    body = post(client, INPAINT, dict(valid_body, model_id="no-such-model")).json
    assert body == {"status": "error", "message": "Model id not found"}


@pytest.mark.parametrize("model_id", ["pony-realism", "pony_realism"])
def test_both_documented_spellings_of_pony_realism_are_known(client, valid_body, model_id):
    assert post(client, INPAINT, dict(valid_body, model_id=model_id)).json["status"] == "success"


def test_http_errors_maps_errors_to_status_codes(make_app, valid_body):
    client = make_app(http_errors=True).test_client()
    assert post(client, INPAINT, b"{", ).status_code == 400
    assert post(client, INPAINT, dict(valid_body, key="")).status_code == 401
    assert post(client, INPAINT, dict(valid_body, model_id="x")).status_code == 404
    assert post(client, INPAINT, {"key": "k", "model_id": "pony-realism"}).status_code == 422
    limited = post(client, INPAINT, valid_body, Prefer="variant=error, error=rate_limit")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert post(client, FETCH + "/999", {"key": "k"}).status_code == 404


def test_errors_are_http_200_by_default(client, valid_body):
    assert post(client, INPAINT, dict(valid_body, model_id="x")).status_code == 200
    assert post(client, INPAINT, valid_body, Prefer="variant=error").status_code == 200


# -- variants ---------------------------------------------------------------------------------

def test_success_body_shape(client, valid_body):
    valid_body.update(samples=3, seed=None, width=768, height=1024)
    body = post(client, INPAINT, valid_body).json
    assert body["status"] == "success"
    assert isinstance(body["id"], int) and isinstance(body["generationTime"], float)
    assert len(body["output"]) == 3 and body["proxy_links"] == body["output"]
    assert all(url.startswith("http://localhost/generations/") and url.endswith(".png") for url in body["output"])
    assert body["nsfw_content_detected"] is False and body["webhook_status"] == "" and body["tip"] == ""
    meta = body["meta"]
    assert (meta["W"], meta["H"], meta["n_samples"], meta["steps"]) == (768, 1024, 3, 21)
    assert isinstance(meta["seed"], int)
    assert meta["prompt"] == valid_body["prompt"] and meta["model_id"] == "pony-realism"


def test_requested_seed_is_echoed(client, valid_body):
    assert post(client, INPAINT, dict(valid_body, seed=42)).json["meta"]["seed"] == 42


def test_processing_body_promises_the_final_urls(client, valid_body):
    queued = post(client, INPAINT, dict(valid_body, samples=2), Prefer="variant=processing, eta=12.5").json
    assert queued["status"] == "processing" and queued["output"] == []
    assert isinstance(queued["eta"], float) and 12 < queued["eta"] <= 12.5
    assert queued["fetch_result"].endswith(f"/api/v6/images/fetch/{queued['id']}")
    assert queued["message"] and queued["tip"]
    assert len(queued["future_links"]) == 2
    advance(client, 13, key=valid_body["key"])
    done = post(client, FETCH + f"/{queued['id']}", {"key": valid_body["key"]}).json
    assert done["status"] == "success" and done["id"] == queued["id"]
    assert done["output"] == queued["future_links"]


def test_fetch_in_both_forms_follows_the_job_until_its_eta(client, valid_body):
    queued = post(client, INPAINT, valid_body, Prefer="eta=30").json
    job = queued["id"]
    by_path = post(client, FETCH + f"/{job}", {"key": "test-key"}).json
    by_body = post(client, FETCH, {"key": "test-key", "request_id": str(job)}).json
    assert by_path["status"] == by_body["status"] == "processing"
    assert by_path["eta"] <= queued["eta"]
    advance(client, 10)
    assert 0 < post(client, FETCH + f"/{job}", {"key": "test-key"}).json["eta"] <= 20
    advance(client, 25)
    done = post(client, FETCH, {"key": "test-key", "request_id": str(job)}).json
    assert done["status"] == "success" and done["output"] == queued["future_links"]
    again = post(client, FETCH + f"/{job}", {"key": "test-key"}).json
    assert again["status"] == "success", "a finished job never goes back to processing"


def test_fetch_request_id_may_be_sent_as_a_number_in_compat_mode(client, valid_body):
    job = post(client, INPAINT, valid_body).json["id"]
    assert post(client, FETCH, {"key": "test-key", "request_id": job}).json["status"] == "success"


def test_a_queued_job_can_end_failed(client, valid_body):
    queued = post(client, INPAINT, valid_body, Prefer="eta=1, outcome=failed").json
    advance(client, 2)
    failed = post(client, FETCH + f"/{queued['id']}", {"key": "test-key"}).json
    assert failed["status"] == "failed" and failed["id"] == queued["id"]
    assert failed["message"] == "Failed, Try Again"


def test_unknown_or_foreign_job_id_is_an_error_body(client, valid_body):
    assert post(client, FETCH + "/123", {"key": "test-key"}).json["status"] == "error"
    job = post(client, INPAINT, valid_body).json["id"]
    other = post(client, FETCH + f"/{job}", {"key": "someone-else"}).json
    assert other["status"] == "error", "a job is visible only to the key that made it"


@pytest.mark.parametrize("variant", ["success", "processing", "error", "failed"])
def test_prefer_variant(client, valid_body, variant):
    assert post(client, INPAINT, valid_body, Prefer=f"variant={variant}").json["status"] == variant


def test_prefer_example_returns_the_named_spec_example(client, valid_body):
    body = post(client, INPAINT, valid_body, Prefer="example=rate_limit").json
    assert body["message"] == "Rate limit exceeded"
    missing = post(client, INPAINT, valid_body, Prefer="example=nope")
    assert missing.status_code == 400 and "rate_limit" in missing.json["message"]


def test_prefer_code_answers_that_status_with_the_matching_error(client, valid_body):
    response = post(client, INPAINT, valid_body, Prefer="code=401")
    assert response.status_code == 401 and response.json["message"] == "Invalid Api Key"


def test_prefer_dynamic_is_spec_valid_and_reproducible_from_its_seed(client, valid_body):
    first = post(client, INPAINT, valid_body, Prefer="dynamic=true, seed=5").json
    second = post(client, INPAINT, valid_body, Prefer="dynamic=true, seed=5").json
    assert first == second
    assert first["status"] in ("success", "processing", "error", "failed")


def test_unknown_prefer_word_is_a_clear_400(client, valid_body):
    response = post(client, INPAINT, valid_body, Prefer="variant=processing, bogus=1")
    assert response.status_code == 400 and "bogus" in response.json["message"]


def test_per_key_table_serves_clients_that_cannot_send_headers(make_app, valid_body):
    client = make_app(processing_ratio=0.0, keys={"queue-me": KeyRule(variant="processing", eta=3)}).test_client()
    body = post(client, INPAINT, dict(valid_body, key="queue-me")).json
    assert body["status"] == "processing" and 2.9 < body["eta"] <= 3
    assert post(client, INPAINT, valid_body).json["status"] == "success"


def test_default_profile_queues_about_one_in_five_with_short_etas(make_app, valid_body):
    client = make_app(queue_limit=0).test_client()  # one key, 200 requests: no queue limit for this count
    bodies = [post(client, INPAINT, valid_body).json for _ in range(200)]
    queued = [b for b in bodies if b["status"] == "processing"]
    assert {b["status"] for b in bodies} == {"success", "processing"}
    assert 20 <= len(queued) <= 60
    assert all(1.0 <= b["eta"] <= 5.0 for b in queued)


def test_realistic_profile_has_long_etas_and_some_errors(make_app, valid_body):
    client = make_app(profile="realistic", processing_ratio=0.6, eta_min=6.0, eta_max=150.0,
                      eta_distribution="loguniform", error_ratio=0.05).test_client()
    bodies = [post(client, INPAINT, valid_body).json for _ in range(200)]
    etas = [b["eta"] for b in bodies if b["status"] == "processing"]
    assert etas and all(6.0 <= eta <= 150.0 for eta in etas)
    assert any(b["status"] == "error" for b in bodies)


def test_same_seed_gives_the_same_run(make_app, valid_body):
    def run():
        # no queue limit: its retry_after depends on when a request arrives, not on the seed
        client = make_app(seed=99, processing_ratio=0.5, queue_limit=0).test_client()
        return [post(client, INPAINT, valid_body).json for _ in range(20)]

    assert run() == run()
    other = make_app(seed=100, processing_ratio=0.5, queue_limit=0).test_client()
    assert [post(other, INPAINT, valid_body).json for _ in range(20)] != run()


def test_output_url_serves_an_image_of_the_requested_size(client, valid_body):
    from io import BytesIO

    from PIL import Image

    url = post(client, INPAINT, dict(valid_body, width=640, height=576)).json["output"][0]
    response = client.get(url.replace("http://localhost", ""))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(BytesIO(response.data)).size == (640, 576)


def test_future_links_answer_404_until_the_job_is_done(client, valid_body):
    queued = post(client, INPAINT, valid_body, Prefer="eta=5").json
    path = queued["future_links"][0].replace("http://localhost", "")
    assert client.get(path).status_code == 404
    advance(client, 6)
    assert client.get(path).status_code == 200


# -- nothing a client sends is a 500 ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(["key", "model_id", "prompt", "init_image", "mask_image", "width", "height", "samples",
                          "steps", "seed", "safety_checker", "webhook", "track_id", "base64", "num_inference_steps"])


@given(
    body=st.dictionaries(fields | st.text(max_size=8), json_values, max_size=10),
    strict=st.booleans(),
    path=st.sampled_from([INPAINT, FETCH, FETCH + "/130000001", FETCH + "/abc"]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_json_body_makes_a_server_error(make_app, body, strict, path):
    client = _apps(make_app)[strict].test_client()
    response = post(client, path, body)
    assert response.status_code < 500, response.data
    assert response.is_json


@given(raw=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/plain", ""]))
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_byte_string_makes_a_server_error(make_app, raw, content_type):
    response = _apps(make_app)[False].test_client().post(INPAINT, data=raw, content_type=content_type)
    assert response.status_code < 500 and response.is_json


_APP_CACHE: dict[bool, object] = {}


def _apps(make_app):
    """Two apps (compat, strict) that also check their own answers against the spec."""
    if not _APP_CACHE:
        for strict in (False, True):
            _APP_CACHE[strict] = make_app(strict=strict, validate_responses=True, processing_ratio=0.3)
    return _APP_CACHE


def test_a_seed_wider_than_64_bits_is_a_field_error_not_a_500(client, valid_body):
    response = post(client, INPAINT, dict(valid_body, seed=2**70))
    assert response.status_code == 200
    assert response.json == {"status": "error", "message": {
        "seed": ["The seed field must not be greater than 9223372036854775807."]}}


def test_the_served_app_answers_the_api_before_flask_is_even_imported(tmp_path) -> None:
    """``mockserver run`` answers its first POST from the fast path; Flask loads later, for the rest."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import json, sys
        from mockserver.web.app import build_state, serving_app
        from mockserver.config import MockConfig
        app = serving_app(build_state(MockConfig(store="sqlite:///{tmp_path}/s.sqlite3", processing_ratio=0.0)))
        client = app.test_client()
        body = {{"key": "k", "model_id": "pony-realism", "prompt": "a cat", "width": 512, "height": 512,
                "init_image": "https://example.com/i.png", "mask_image": "https://example.com/m.png"}}
        made = client.post("/api/v6/images/inpaint", json=body).get_json()
        fetched = client.post(f"/api/v6/images/fetch/{{made['id']}}", json={{"key": "k"}}).get_json()
        before = "flask" in sys.modules
        health = client.get("/__mock/health").status_code
        missing = client.get("/nowhere").get_json()
        print(json.dumps([made["status"], fetched["status"], before, health, missing["code"], "flask" in sys.modules]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == '["success", "success", false, 200, 404, true]'


@pytest.mark.parametrize("seed", [-154841, 0, 2**63 - 1])
def test_any_seed_the_spec_allows_is_echoed_exactly(client, valid_body, seed):
    assert post(client, INPAINT, dict(valid_body, seed=seed)).json["meta"]["seed"] == seed
