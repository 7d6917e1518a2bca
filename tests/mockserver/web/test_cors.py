"""Browsers: pages of another origin may call the API and read outputs (``cors``, on by default, as
in Prism); preflights are answered without reaching the engine; plain OPTIONS and HEAD behave as
HTTP says; the admin API never takes part."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.config import MockConfig
from mockserver.web.app import create_app

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
PAGE = "http://localhost:3000"  # a dev server's page
PETSTORE = Path(__file__).resolve().parents[2] / "fixtures" / "petstore.yaml"
BODY = {"key": "cors-key", "model_id": "pony-realism", "prompt": "a cat", "init_image": "https://x/i.png",
        "mask_image": "https://x/m.png"}


def preflight(client, path: str, method: str = "POST", headers: str | None = "content-type, authorization"):
    sent = {"Origin": PAGE, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return client.open(path, method="OPTIONS", headers=sent)


def test_a_page_of_another_origin_may_read_an_api_answer(client):
    answer = client.post(INPAINT, json=BODY, headers={"Origin": PAGE})
    assert answer.get_json()["status"] == "success"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Expose-Headers"] == "*", "Retry-After and X-RateLimit-Reset readable"
    assert "Access-Control-Allow-Credentials" not in answer.headers, "no cookies: the key is in the body or a header"


def test_clients_that_send_no_origin_get_the_answer_as_before(client):
    answer = client.post(INPAINT, json=BODY)
    assert not any(name.startswith("Access-Control-") for name in answer.headers.keys())


def test_a_preflight_is_answered_with_the_methods_and_the_headers_asked_for_and_never_journalled(client):
    before = client.get("/__mock/requests").get_json()["count"]
    answer = preflight(client, INPAINT)
    assert answer.status_code == 204 and answer.data == b""
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type, authorization"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    templated = preflight(client, f"{FETCH}/130000001", headers=None)
    assert templated.status_code == 204 and templated.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Access-Control-Allow-Headers" not in templated.headers
    assert client.get("/__mock/requests").get_json()["count"] == before


@pytest.mark.parametrize("asked", ["content-type, x y", "content-type; x", "a" * 1100])
def test_a_preflight_asking_for_odd_header_lists_gets_none_echoed(client, asked):
    answer = client.open(INPAINT, method="OPTIONS", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": asked})
    assert answer.status_code == 204 and "Access-Control-Allow-Headers" not in answer.headers


def test_output_images_may_be_read_by_a_page_of_another_origin(client):
    url = client.post(INPAINT, json=BODY).get_json()["output"][0]
    path = url.split("//", 1)[1].split("/", 1)[1]
    image = client.get("/" + path, headers={"Origin": PAGE})
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Access-Control-Allow-Origin"] == "*"
    answer = preflight(client, "/" + path, method="GET", headers="range")
    assert answer.status_code in (200, 204) and answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Allow-Headers"] == "range"


def test_the_admin_api_takes_no_part_in_cors(client):
    listed = client.get("/__mock/requests", headers={"Origin": "http://localhost"})
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers
    asked = preflight(client, "/__mock/rules")
    assert "Access-Control-Allow-Origin" not in asked.headers


def test_cors_can_be_turned_off(make_app):
    client = make_app(cors=False, processing_ratio=0.0).test_client()
    answer = client.post(INPAINT, json=BODY, headers={"Origin": PAGE})
    assert answer.get_json()["status"] == "success" and "Access-Control-Allow-Origin" not in answer.headers
    asked = preflight(client, INPAINT)
    assert asked.status_code == 204 and asked.headers["Allow"] == "POST, OPTIONS"
    assert not any(name.startswith("Access-Control-") for name in asked.headers.keys())


def test_a_plain_options_lists_the_methods_of_the_path(client):
    answer = client.open(INPAINT, method="OPTIONS")
    assert answer.status_code == 204 and answer.headers["Allow"] == "POST, OPTIONS" and answer.data == b""
    assert client.open("/api/v6/images/nothing", method="OPTIONS").status_code == 404


@pytest.fixture(scope="module")
def pets():
    return create_app(MockConfig(spec=str(PETSTORE), store="memory", seed=3)).test_client()


def test_head_of_a_get_route_is_the_get_without_its_body(pets):
    got = pets.get("/v1/pets/7")
    head = pets.head("/v1/pets/7")
    assert head.status_code == got.status_code == 200 and head.data == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.headers["Content-Length"] == got.headers["Content-Length"] == str(len(got.data))
    assert pets.open("/v1/pets/7", method="OPTIONS").headers["Allow"] == "GET, DELETE, HEAD, OPTIONS"
    entry = pets.get("/__mock/requests").get_json()["requests"][-1]
    assert (entry["method"], entry["path"], entry["status"]) == ("HEAD", "/v1/pets/7", 200), "journalled as sent"


def test_head_of_a_route_without_get_is_still_405(client):
    answer = client.head(INPAINT)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
