"""Output URLs: 404 until the job is done, then a real image (or a .base64 file), cached with a cap."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

INPAINT = "/api/v6/images/inpaint"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def local(url: str) -> str:
    return url.replace("http://localhost", "")


def test_an_output_is_a_png_of_the_requested_size_with_caching_headers(client, valid_body):
    answer = post(client, INPAINT, dict(valid_body, width=768, height=640, samples=2)).json
    for url in answer["output"]:
        response = client.get(local(url))
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.headers["Cache-Control"].startswith("public")
        assert Image.open(io.BytesIO(response.data)).size == (768, 640)
    first, second = (client.get(local(u)).data for u in answer["output"])
    assert first != second, "each sample is its own picture"


def test_future_links_are_404_json_until_the_eta_then_the_image(client, valid_body):
    queued = post(client, INPAINT, valid_body, Prefer="eta=30").json
    path = local(queued["future_links"][0])
    early = client.get(path)
    assert early.status_code == 404 and early.json["status"] == "error"
    client.post("/__mock/clock", json={"advance": 31, "key": valid_body["key"]})
    assert client.get(path).mimetype == "image/png"


def test_a_failed_job_never_serves_its_links(client, valid_body):
    queued = post(client, INPAINT, valid_body, Prefer="eta=1, outcome=failed").json
    client.post("/__mock/clock", json={"advance": 5})
    assert client.get(local(queued["future_links"][0])).status_code == 404


@pytest.mark.parametrize("name", ["nope.png", "../etc/passwd", "00000000-0000-4000-8000-000000000000-0.png",
                                  "x" * 500 + ".png"])
def test_unknown_names_are_404_json(client, name):
    response = client.get(f"/generations/{name}")
    assert response.status_code == 404 and response.is_json


def test_a_wrong_index_or_extension_is_404(client, valid_body):
    url = local(post(client, INPAINT, valid_body).json["output"][0])
    assert client.get(url.replace("-0.png", "-1.png")).status_code == 404
    assert client.get(url.replace(".png", ".base64")).status_code == 404


@pytest.mark.parametrize("flag", ["yes", True, "true"])
def test_base64_outputs_are_base64_files_of_the_encoded_image(client, valid_body, flag):
    answer = post(client, INPAINT, dict(valid_body, base64=flag, width=576)).json
    [url] = answer["output"]
    assert url.endswith("-0.base64") and answer["meta"]["base64"] == "yes"
    response = client.get(local(url))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    prefix, _, payload = response.data.partition(b",")
    assert prefix == b"data:image/png;base64"
    assert Image.open(io.BytesIO(base64.b64decode(payload))).size == (576, 512)


def test_outputs_are_rendered_once_then_served_from_the_cache(client, valid_body):
    url = local(post(client, INPAINT, valid_body).json["output"][0])
    first = client.get(url).data
    assert client.get(url).data == first
    stats = client.get("/__mock/health").json["image_cache"]
    assert stats["items"] == 1 and stats["hits"] == 1 and stats["bytes"] == len(first)


def test_the_cache_is_capped_and_outputs_still_serve_beyond_it(make_app, valid_body):
    client = make_app(processing_ratio=0.0, image_cache_bytes=1000).test_client()
    url = local(post(client, INPAINT, valid_body).json["output"][0])
    first = client.get(url).data
    assert len(first) > 1000 and client.get(url).data == first
    assert client.get("/__mock/health").json["image_cache"]["items"] == 0


def test_reset_forgets_outputs(client, valid_body):
    url = local(post(client, INPAINT, valid_body).json["output"][0])
    assert client.get(url).status_code == 200
    client.post("/__mock/reset", json={})
    assert client.get(url).status_code == 404
