"""Every endpoint of the image family (openapi/modelslab.yaml) behaves like the real one, through the
spec and its x-mock-behaviour: shapes per family, the key where clients put it, the queue limit,
instant_response, failed in the documented form, empty fetch ids, trailing slashes, strict reading
of 7.0, clamps, the model catalogue, images rendered by kind."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from contracts.core.spec import load_document, operations, server_base_path
from mockserver.config import DEFAULT_MODELS, KeyRule

FAMILY = "modelslab.yaml"
KEY = "family-key"
INIT = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png"
MASK = INIT.replace(".png", "_mask.png")

DOC = load_document(FAMILY)
BASE = server_base_path(DOC)
OPS = operations(DOC)


def behaviour(op) -> dict[str, Any]:
    return DOC["paths"][op.path][op.method.lower()]["x-mock-behaviour"]


GENERATE = {op_id: op for op_id, op in OPS.items() if behaviour(op)["kind"] == "generate"}
FETCH_BY_ID = {behaviour(op)["family"]: op for op in OPS.values()
               if behaviour(op)["kind"] == "fetch" and behaviour(op)["id"]["in"] == "path"}


def body_for(op_id: str, **extra: Any) -> dict[str, Any]:
    """A valid body for a generate operation, from its behaviour: the model when it takes one, its images."""
    op = GENERATE[op_id]
    settings = behaviour(op)
    body: dict[str, Any] = {"key": KEY, "prompt": "a red bench under a blue sky"}
    if settings["model"] == "required":
        body["model_id"] = "flux"
    for name, ref in zip(settings["images"], (INIT, MASK)):
        body[name] = ref
    body.update(extra)
    return body


def path_of(op_id: str) -> str:
    return BASE + OPS[op_id].path


@pytest.fixture
def family(make_app):
    """make_app on the family spec, answers checked against it (a body outside the spec is a 500)."""
    def make(**overrides: Any):
        overrides.setdefault("spec", FAMILY)
        overrides.setdefault("processing_ratio", 0.0)
        overrides.setdefault("validate_responses", True)
        return make_app(**overrides).test_client()
    return make


def post(client, path: str, body: Any, **headers: str):
    answer = client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)
    return answer, answer.get_json()


def advance(client, seconds: float, key: str = KEY) -> None:
    assert client.post("/__mock/clock", json={"advance": seconds, "key": key}).status_code == 200


def png_of(client, url: str) -> Image.Image:
    answer = client.get(url.replace("http://localhost", ""))
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png", answer.data[:200]
    return Image.open(io.BytesIO(answer.data)).convert("RGB")


# ------------------------------------------------------------------------------ each endpoint


@pytest.mark.parametrize("op_id", sorted(GENERATE))
def test_every_generate_endpoint_succeeds_in_its_familys_shape_and_its_output_is_the_asked_size(family, op_id):
    client = family()
    answer, body = post(client, path_of(op_id), body_for(op_id, width=512, height=768, samples=2))
    assert answer.status_code == 200 and body["status"] == "success", body
    realtime = behaviour(GENERATE[op_id])["family"] == "realtime"
    assert ("webhook_status" in body, "tip" in body) == (not realtime, not realtime)
    meta = body["meta"]
    if realtime:
        assert (meta["width"], meta["height"]) == (512, 768) and "model_id" not in meta and "W" not in meta
    else:
        assert (meta["W"], meta["H"], meta["model_id"]) == (512, 768, "flux")
    assert ("init_image" in meta) == bool(behaviour(GENERATE[op_id])["images"])
    assert len(body["output"]) == 2
    assert all(png_of(client, url).size == (512, 768) for url in body["output"])


@pytest.mark.parametrize("op_id", sorted(GENERATE))
def test_a_queued_job_is_fetched_at_its_familys_fetch_and_nowhere_else(family, op_id):
    client = family()
    answer, queued = post(client, path_of(op_id), body_for(op_id), Prefer="variant=processing, eta=20")
    assert queued["status"] == "processing", queued
    own = FETCH_BY_ID[behaviour(GENERATE[op_id])["family"]]
    assert queued["fetch_result"] == f"http://localhost{BASE}{own.path.replace('{id}', str(queued['id']))}"
    realtime = behaviour(GENERATE[op_id])["family"] == "realtime"
    assert ("webhook_status" in queued) == (not realtime) and "tip_1" not in queued
    _, still = post(client, queued["fetch_result"].replace("http://localhost", ""), {"key": KEY})
    assert still["status"] == "processing" and 0 < still["eta"] <= 20
    for other_family, other in FETCH_BY_ID.items():
        if other is not own:
            _, wrong = post(client, BASE + other.path.replace("{id}", str(queued["id"])), {"key": KEY})
            assert wrong == {"status": "error", "message": f"Request not found: {queued['id']}"}, other_family
    advance(client, 21)
    _, done = post(client, queued["fetch_result"].replace("http://localhost", ""), {"key": KEY})
    assert done["status"] == "success" and done["output"] == queued["future_links"]
    assert png_of(client, done["output"][0]).size == (512, 512)


def test_the_documented_request_id_fetch_reads_community_jobs(family):
    client = family()
    _, queued = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img"), Prefer="variant=processing, eta=5")
    advance(client, 6)
    _, done = post(client, BASE + "/v6/images/fetch", {"key": KEY, "request_id": str(queued["id"])})
    assert done["status"] == "success" and done["id"] == queued["id"]


# ------------------------------------------------------------------------------ the key where clients put it


@pytest.mark.parametrize("headers", [{"key": "header-key"}, {"Authorization": "Bearer header-key"}])
def test_the_key_may_come_in_a_key_header_or_as_a_bearer_token(family, headers):
    client = family()
    body = body_for("v7ImagesTextToImage")
    del body["key"]
    answer, made = post(client, path_of("v7ImagesTextToImage"), body, **headers)
    assert made["status"] == "success", made
    assert "key: read from the request's key/Authorization header" in answer.headers["X-Mock-Warnings"]
    _, fetched = post(client, BASE + f"/v7/images/fetch/{made['id']}", {}, **headers)
    assert fetched["status"] == "success"  # the same key, the same namespace
    _, other = post(client, BASE + f"/v7/images/fetch/{made['id']}", {"key": "someone-else"})
    assert other["status"] == "error"


def test_the_body_key_wins_and_no_key_anywhere_is_invalid(family):
    client = family()
    _, made = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img"), key="header-key")
    _, fetched = post(client, BASE + f"/v6/images/fetch/{made['id']}", {"key": KEY})
    assert fetched["status"] == "success"
    body = body_for("v6ImagesText2img")
    del body["key"]
    for headers in ({}, {"key": "  "}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        _, refused = post(client, path_of("v6ImagesText2img"), body, **headers)
        assert refused["message"] == "Invalid Api Key", headers


def test_strict_mode_takes_the_header_key_but_still_asks_for_the_body_key(family):
    client = family(strict=True)
    body = body_for("v7ImagesTextToImage")
    del body["key"]
    _, refused = post(client, path_of("v7ImagesTextToImage"), body, key="header-key")
    assert refused["message"] == {"key": ["The key field is required."]}


def test_every_sink_masks_keys_from_the_body_the_key_header_and_the_bearer_token(family):
    client = family()
    body = body_for("v6RealtimeText2img", key="body-secret-1")
    post(client, path_of("v6RealtimeText2img"), body, key="header-secret-2", Authorization="Bearer bearer-secret-3")
    body = body_for("v7ImagesTextToImage")
    del body["key"]
    post(client, path_of("v7ImagesTextToImage"), body, Authorization="Bearer bearer-secret-4")
    journal = client.get("/__mock/requests").get_data(as_text=True)
    assert "realtime" in journal and journal.count('"status":200') + journal.count('"status": 200') >= 2
    for secret in ("body-secret-1", "header-secret-2", "bearer-secret-3", "bearer-secret-4"):
        assert secret not in journal


# ------------------------------------------------------------------------------ the queue limit


def test_a_key_may_have_five_jobs_queued_and_the_sixth_is_the_documented_error(family):
    client = family(keys={KEY: KeyRule(variant="processing", eta=60)})
    path, body = path_of("v6ImagesText2img"), body_for("v6ImagesText2img")
    ids = [post(client, path, body)[1]["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    answer, refused = post(client, path, body)
    assert answer.status_code == 200
    assert refused == {"status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
                       "retry_after": 30}
    assert post(client, path_of("v6RealtimeText2img"), body_for("v6RealtimeText2img"))[1] == refused  # per key
    assert post(client, path, dict(body, key="another-key"))[1]["status"] == "success"
    advance(client, 61)
    assert post(client, path, body)[1]["status"] == "processing"


def test_under_http_errors_the_queue_limit_is_a_429_the_cli_can_wait_out(family):
    client = family(http_errors=True, queue_limit=2, keys={KEY: KeyRule(variant="processing", eta=12)})
    path, body = path_of("v7ImagesTextToImage"), body_for("v7ImagesTextToImage")
    post(client, path, body)
    post(client, path, body)
    before = time.time()
    answer, refused = post(client, path, body)
    assert answer.status_code == 429 and refused["message"].endswith("Maximum 2 queued requests allowed.")
    assert refused["retry_after"] == int(answer.headers["Retry-After"]) == 12
    assert before + 11 <= int(answer.headers["X-RateLimit-Reset"]) <= time.time() + 13


def test_queue_limit_zero_is_no_limit_and_prefer_answers_are_not_limited(family):
    client = family(queue_limit=0, keys={KEY: KeyRule(variant="processing", eta=60)})
    assert all(post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img"))[1]["status"] == "processing"
               for _ in range(8))
    client = family(queue_limit=1)
    for _ in range(3):
        _, made = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img"), Prefer="variant=processing")
        assert made["status"] == "processing"


# ------------------------------------------------------------------------------ documented answers


def test_instant_response_answers_processing_at_once_in_every_family(family):
    client = family()
    for op_id in ("v6ImagesText2img", "v6RealtimeImg2img", "v7ImagesInpaint"):
        _, made = post(client, path_of(op_id), body_for(op_id, instant_response="yes"))
        assert made["status"] == "processing" and made["meta"]["instant_response"] == "yes", op_id
        _, made = post(client, path_of(op_id), body_for(op_id, instant_response=False))
        assert made["status"] == "success", op_id


def test_failed_at_once_is_the_documented_body_and_a_queued_failure_keeps_its_id(family):
    client = family()
    _, failed = post(client, path_of("v6ImagesImg2img"), body_for("v6ImagesImg2img"), Prefer="variant=failed")
    assert failed == {"status": "failed", "id": "", "message": "Failed, Try Again", "output": ""}
    _, queued = post(client, path_of("v6RealtimeInpaint"), body_for("v6RealtimeInpaint"),
                     Prefer="variant=processing, eta=3, outcome=failed")
    advance(client, 4)
    _, fetched = post(client, BASE + f"/v6/realtime/fetch/{queued['id']}", {"key": KEY})
    assert fetched == {"status": "failed", "id": queued["id"], "message": "Failed, Try Again", "output": ""}


def test_the_legacy_messege_spelling_is_a_setting(family):
    for legacy, word in ((False, "message"), (True, "messege")):
        client = family(legacy_messege=legacy)
        _, queued = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img"), Prefer="variant=processing")
        assert queued[word] == "Try to fetch request after seconds estimated"
        assert ("message" in queued, "messege" in queued) == (not legacy, legacy)


@pytest.mark.parametrize("path", ["/v7/images/fetch/", "/v7/images/fetch/abc", "/v6/realtime/fetch/",
                                  "/v6/images/fetch/1234567890123456789"])
def test_a_fetch_path_that_names_no_job_is_a_json_error_at_200(family, path):
    client = family()
    answer, body = post(client, BASE + path, {"key": KEY})
    assert answer.status_code == 200 and body["status"] == "error" and body["message"].startswith("Request not found")
    answer, body = post(family(http_errors=True), BASE + path, {"key": KEY})
    assert answer.status_code == 404 and answer.is_json and body["status"] == "error"


@pytest.mark.parametrize("op_id", sorted(OPS))
def test_every_endpoint_takes_a_trailing_slash(family, op_id):
    client = family()
    path = path_of(op_id).replace("{id}", "130000001")
    body = body_for(op_id) if op_id in GENERATE else {"key": KEY, "request_id": "130000001"}
    if op_id not in GENERATE and "{id}" in OPS[op_id].path:
        body = {"key": KEY}
    answer, answered = post(client, path + "/", body)
    assert answer.status_code == 200 and answered["status"] in ("success", "error"), answered
    assert answered == post(client, path, body)[1] or answered["status"] == "success"


def test_v7_needs_a_model_id_as_the_guide_says(family):
    body = body_for("v7ImagesTextToImage")
    del body["model_id"]
    _, refused = post(family(), path_of("v7ImagesTextToImage"), body)
    assert refused == {"status": "error", "message": {"model_id": ["The model id field is required."]}}


# ------------------------------------------------------------------------------ reading the body


def test_strict_mode_reads_integral_floats_as_integers(family):
    client = family(strict=True)
    _, made = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img", seed=7.0, width=768.0,
                                                                  safety_checker=False), Prefer="variant=processing, eta=1")
    assert made["meta"]["seed"] == 7 and made["meta"]["W"] == 768 and made["meta"]["safety_checker"] == "no"
    assert isinstance(made["meta"]["seed"], int)
    advance(client, 2)
    _, done = post(client, BASE + "/v6/images/fetch", {"key": KEY, "request_id": float(made["id"])})
    assert done["status"] == "success" and done["id"] == made["id"]


def test_steps_above_the_cap_are_used_as_the_cap_with_a_warning(family):
    for strict in (False, True):
        answer, made = post(family(strict=strict), path_of("v6ImagesText2img"),
                            body_for("v6ImagesText2img", num_inference_steps=31))
        assert made["status"] == "success" and made["meta"]["steps"] == 20
        assert "num_inference_steps: 31 is above the maximum 20; used as 20" in answer.headers["X-Mock-Warnings"]
    answer, made = post(family(), path_of("v6ImagesInpaint"), body_for("v6ImagesInpaint", steps=45,
                                                                         num_inference_steps=12))
    assert made["meta"]["steps"] == 45  # steps wins


def test_the_model_catalogue_takes_the_documented_models_and_only_those_unless_told(family):
    client = family()
    for model in DEFAULT_MODELS:
        assert post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img", model_id=model))[1]["status"] \
            == "success", model
    for op_id in ("v6ImagesInpaint", "v7ImagesImageToImage"):
        _, refused = post(client, path_of(op_id), body_for(op_id, model_id="no-such-model"))
        assert refused == {"status": "error", "message": "Model id not found"}
    any_model = family(models=("*",))
    assert post(any_model, path_of("v7ImagesTextToImage"), body_for("v7ImagesTextToImage", model_id="x"))[1]["status"] \
        == "success"


# ------------------------------------------------------------------------------ images by kind


def _data_uri(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _distance(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_img2img_outputs_follow_the_init_image_and_move_away_with_strength(family):
    from mockserver.images.samples import overture

    client = family()
    init = overture().resize((512, 512))
    outputs = {}
    for strength in (0.2, 0.7, 1.0):
        _, made = post(client, path_of("v6ImagesImg2img"),
                       body_for("v6ImagesImg2img", init_image=_data_uri(init), strength=strength, seed=5))
        outputs[strength] = png_of(client, made["output"][0])
    distances = [_distance(outputs[s], init) for s in (0.2, 0.7, 1.0)]
    assert distances == sorted(distances) and distances[0] < 15, distances
    _, painted = post(client, path_of("v6ImagesText2img"), body_for("v6ImagesText2img", seed=5))
    assert _distance(png_of(client, painted["output"][0]), init) > distances[1]  # text2img ignores images


def test_text2img_is_deterministic_per_seed_and_prompt(family):
    one, two = family(), family()
    body = body_for("v6RealtimeText2img", seed=11)
    a = png_of(one, post(one, path_of("v6RealtimeText2img"), body)[1]["output"][0])
    b = png_of(two, post(two, path_of("v6RealtimeText2img"), body)[1]["output"][0])
    c = png_of(two, post(two, path_of("v6RealtimeText2img"), dict(body, seed=12))[1]["output"][0])
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()


# ------------------------------------------------------------------------------ webhooks


def test_webhooks_carry_each_familys_body_even_with_integers_past_64_bits(family):
    from mockserver.control.receiver import WebhookReceiver

    client = family()
    with WebhookReceiver() as hook:
        for op_id in ("v6RealtimeText2img", "v7ImagesTextToImage"):
            extra = {"num_inference_steps": 2**70} if op_id.startswith("v7") else {}
            _, made = post(client, path_of(op_id), body_for(op_id, webhook=hook.url, track_id=op_id, **extra))
            assert made["status"] == "success", made
        deliveries = {d.json["track_id"]: d.json for d in hook.wait_for(2)}
    realtime, v7 = deliveries["v6RealtimeText2img"], deliveries["v7ImagesTextToImage"]
    assert realtime["status"] == "success" and "webhook_status" not in realtime and "model_id" not in realtime["meta"]
    assert v7["meta"]["steps"] == 2**70  # v7 caps nothing it does not document; the JSON still goes out
    assert client.post("/__mock/webhooks/wait", json={"timeout": 10}).get_json()["idle"]


# ------------------------------------------------------------------------------ rules and journal name operations


def test_rules_and_journal_filters_name_operations_by_id_kind_family_or_the_first_specs_names(family):
    client = family()
    made = client.post("/__mock/rules", json={"operation": "realtime", "respond": {"variant": "processing", "eta": 5}})
    assert made.status_code in (200, 201), made.get_json()
    assert post(client, path_of("v6RealtimeImg2img"), body_for("v6RealtimeImg2img"))[1]["status"] == "processing"
    assert post(client, path_of("v6ImagesImg2img"), body_for("v6ImagesImg2img"))[1]["status"] == "success"
    client.delete("/__mock/rules")
    client.post("/__mock/rules", json={"operation": "inpaint", "times": 1, "respond": {"error": "rate_limit"}})
    assert post(client, path_of("v7ImagesInpaint"), body_for("v7ImagesInpaint"))[1]["status"] == "success"
    assert post(client, path_of("v6ImagesInpaint"), body_for("v6ImagesInpaint"))[1]["message"] == "Rate limit exceeded"
    refused = client.post("/__mock/rules", json={"operation": "paint", "respond": {"variant": "failed"}})
    assert refused.status_code == 400 and "v6RealtimeText2img" in refused.get_json()["message"]
    journal = lambda **q: [e["operation"] for e in client.get("/__mock/requests", query_string=q).get_json()["requests"]]  # noqa: E731
    assert journal(operation="realtime") == ["v6RealtimeImg2img"]
    assert journal(operation="generate") == ["v6RealtimeImg2img", "v6ImagesImg2img", "v7ImagesInpaint", "v6ImagesInpaint"]
    assert journal(operation="v7ImagesInpaint") == ["v7ImagesInpaint"]
