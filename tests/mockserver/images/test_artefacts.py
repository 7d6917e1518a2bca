"""Outputs respect the mask, come from safe image sources, and replay byte for byte from the seed."""

from __future__ import annotations

import base64
import http.server
import io
import json
import socket
import struct
import threading
import zlib

import pytest
from PIL import Image, ImageChops, ImageDraw

from mockserver.images import samples as sample_images
from mockserver.images.artefacts import Artefacts
from mockserver.images.sources import DEFAULT_URL_MAP
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"
DOC_INIT, DOC_MASK = list(DEFAULT_URL_MAP)
_REAL_CONNECT = socket.socket.connect


def post(client, body, **headers):
    return client.post(INPAINT, data=json.dumps(body), content_type="application/json", headers=headers)


def image_of(client, url) -> Image.Image:
    response = client.get(url.replace("http://localhost", ""))
    assert response.status_code == 200, response.data[:200]
    return Image.open(io.BytesIO(response.data)).convert("RGB")


def png(size=(64, 64), colour=(200, 30, 40), mode="RGB", draw=None) -> bytes:
    image = Image.new(mode, size, colour)
    if draw:
        draw(ImageDraw.Draw(image))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def png_declaring(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def keep_mask(mask: Image.Image, size) -> Image.Image:
    """255 where the init image must show through (mask below the threshold)."""
    return mask.convert("L").resize(size, Image.Resampling.BILINEAR).point(lambda v: 255 if v < 128 else 0)


def differs_only_inside_mask(out: Image.Image, init: Image.Image, mask: Image.Image) -> tuple[bool, bool]:
    keep = keep_mask(mask, out.size)
    diff = ImageChops.difference(out, init.convert("RGB").resize(out.size)).convert("L").point(lambda v: 255 if v else 0)
    outside = ImageChops.multiply(diff, keep).getbbox() is None
    inside = ImageChops.multiply(diff, ImageChops.invert(keep)).getbbox() is not None
    return outside, inside


@pytest.fixture
def no_network(monkeypatch):
    """Fail any connection the mock makes outside loopback."""
    def guarded(sock, address):
        assert address[0] in ("127.0.0.1", "::1"), f"the mock tried to connect to {address!r}"
        return _REAL_CONNECT(sock, address)
    monkeypatch.setattr(socket.socket, "connect", guarded)


class ImageServer:
    """Serves fixed bytes on loopback and counts how often it was asked."""

    def __init__(self, data: bytes):
        self.hits = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/picture.png"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()


# -- mask-aware rendering -------------------------------------------------------------------------

def test_the_docs_images_keep_unmasked_pixels_and_repaint_the_masked_area(client, valid_body):
    answer = post(client, valid_body).json
    assert "X-Mock-Warnings" not in post(client, valid_body).headers, "the docs' URLs resolve offline"
    out = image_of(client, answer["output"][0])
    outside, inside = differs_only_inside_mask(out, sample_images.overture(), sample_images.overture_mask())
    assert outside, "every pixel outside the mask is the init image's"
    assert inside, "the masked area is painted by the mock"


def test_a_different_size_resizes_the_init_and_the_mask(client, valid_body):
    out = image_of(client, post(client, dict(valid_body, width=768, height=1024)).json["output"][0])
    assert out.size == (768, 1024)
    keep = keep_mask(sample_images.overture_mask(), out.size)
    init = sample_images.overture().resize(out.size, Image.Resampling.BILINEAR)
    diff = ImageChops.difference(out, init).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(diff, keep).getbbox() is None


def test_the_painted_area_depends_on_seed_prompt_and_sample(client, valid_body):
    def picture(**changes):
        return client.get(post(client, dict(valid_body, **changes)).json["output"][0].replace(
            "http://localhost", "")).data

    base = picture(seed=1)
    assert picture(seed=1) == base
    assert picture(seed=2) != base
    assert picture(seed=1, prompt="a dog on a bench") != base
    answer = post(client, dict(valid_body, seed=1, samples=2)).json
    assert image_of(client, answer["output"][0]) != image_of(client, answer["output"][1])


def test_the_same_seed_gives_byte_identical_bodies_and_images_in_fresh_apps(make_app, valid_body):
    def run():
        client = make_app(seed=2024, processing_ratio=0.3).test_client()
        bodies, images = [], []
        for i in range(6):
            body = post(client, dict(valid_body, prompt=f"scene {i}", samples=2)).data
            bodies.append(body)
            answer = json.loads(body)
            for url in answer.get("output") or answer.get("future_links") or []:
                client.post("/__mock/clock", json={"advance": 1000})
                images.append(client.get(url.replace("http://localhost", "")).data)
        return bodies, images

    first_bodies, first_images = run()
    second_bodies, second_images = run()
    assert first_bodies == second_bodies and first_images == second_images
    assert len(first_images) == 12 and len(set(first_images)) == 12


# -- where init and mask images come from ----------------------------------------------------------

def test_data_uris_are_read_and_resized(client, valid_body):
    mask = png((32, 32), 0, "L", lambda d: d.rectangle((0, 0, 15, 31), fill=255))
    answer = post(client, dict(valid_body, init_image=data_uri(png()), mask_image=data_uri(mask))).json
    out = image_of(client, answer["output"][0])
    assert out.getpixel((500, 10)) == (200, 30, 40) and out.getpixel((300, 300)) == (200, 30, 40)


def test_raw_base64_is_read_like_the_sdk_sends_it(client, valid_body):
    raw = base64.b64encode(png()).decode()
    answer = post(client, dict(valid_body, init_image=raw))
    assert answer.json["status"] == "success"
    assert "X-Mock-Warnings" not in answer.headers  # the family spec takes base64 as it is (ImageInput)
    out = image_of(client, answer.json["output"][0])
    assert out.getpixel((5, 5)) == (200, 30, 40)  # outside the docs mask: the init image's own pixels


@pytest.mark.parametrize("value, message", [
    ("data:image/png;base64," + base64.b64encode(b"just some text, no image").decode(),
     "Unable to fetch image from provided URL"),
    ("data:image/png,not-base64", "Unable to fetch image from provided URL"),
    ("data:image/png;base64,!!!!", "Unable to fetch image from provided URL"),
    (data_uri(png_declaring(100_000, 100_000)), "Image too large"),
])
def test_bytes_that_are_not_a_usable_image_are_the_real_error_at_post(client, valid_body, value, message):
    answer = post(client, dict(valid_body, init_image=value))
    assert answer.json == {"status": "error", "message": message, "field": "init_image"}
    assert client.get("/__mock/requests").json["requests"][-1]["job_id"] is None


def test_under_http_errors_a_bad_image_is_422(make_app, valid_body):
    client = make_app(http_errors=True).test_client()
    bad = data_uri(b"GIF? no, plain text really")
    assert post(client, dict(valid_body, mask_image=bad)).status_code == 422


def test_an_oversized_payload_is_refused_from_its_length(make_app, valid_body):
    client = make_app(image_max_bytes=1000).test_client()
    answer = post(client, dict(valid_body, init_image=data_uri(png() + bytes(5000)))).json
    assert answer["message"] == "Image too large"


def test_off_list_urls_become_a_placeholder_and_a_warning_without_any_connection(client, valid_body, no_network):
    answer = post(client, dict(valid_body, init_image="https://example.com/cat.png",
                               mask_image="http://169.254.169.254/mask.png"))
    warnings = answer.headers["X-Mock-Warnings"]
    assert answer.json["status"] == "success"
    assert "init_image: https://example.com/cat.png is not reachable offline" in warnings
    assert "mask_image:" in warnings
    out = image_of(client, answer.json["output"][0])
    assert out.size == (512, 512)


def test_an_allowed_loopback_url_is_fetched_once_at_post_and_reused_for_the_render(client, valid_body):
    server = ImageServer(png((16, 16), (10, 200, 10)))
    try:
        answer = post(client, dict(valid_body, init_image=server.url)).json
        assert answer["status"] == "success" and server.hits == 1
        out = image_of(client, answer["output"][0])
        assert out.getpixel((5, 5)) == (10, 200, 10) and server.hits == 1
    finally:
        server.close()


def test_an_allowed_url_that_is_not_an_image_is_the_real_error(client, valid_body):
    server = ImageServer(b"<html>not found</html>")
    try:
        assert post(client, dict(valid_body, init_image=server.url)).json["message"] == \
            "Unable to fetch image from provided URL"
    finally:
        server.close()


def test_a_dead_loopback_url_is_the_real_error(client, valid_body):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = post(client, dict(valid_body, mask_image=f"http://127.0.0.1:{port}/gone.png")).json
    assert answer["message"] == "Unable to fetch image from provided URL" and answer["field"] == "mask_image"


def test_files_under_the_image_folder(make_app, valid_body, tmp_path):
    (tmp_path / "init.png").write_bytes(png((8, 8), (0, 0, 250)))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path.parent / "outside.png").write_bytes(png())
    client = make_app(processing_ratio=0.0, image_dir=str(tmp_path)).test_client()
    for ref in ("file:init.png", "file:///init.png", "file://localhost/init.png"):
        ok = post(client, dict(valid_body, init_image=ref))
        assert ok.json["status"] == "success" and "X-Mock-Warnings" not in ok.headers, ref
        assert image_of(client, ok.json["output"][0]).getpixel((1, 1)) == (0, 0, 250)
    assert post(client, dict(valid_body, init_image="file:notes.txt")).json["message"] == \
        "Unable to fetch image from provided URL"
    for ref in ("file:../outside.png", "file:///../outside.png", "file:missing.png"):
        escaped = post(client, dict(valid_body, init_image=ref))
        assert escaped.json["status"] == "success" and "not reachable offline" in escaped.headers["X-Mock-Warnings"]


def test_file_references_without_an_image_folder_are_placeholders(client, valid_body, tmp_path):
    (tmp_path / "init.png").write_bytes(png())
    answer = post(client, dict(valid_body, init_image=f"file://{tmp_path}/init.png"))
    assert answer.json["status"] == "success" and "not reachable offline" in answer.headers["X-Mock-Warnings"]


def test_a_configured_url_map_serves_well_known_urls_offline(make_app, valid_body, tmp_path, no_network):
    (tmp_path / "logo.png").write_bytes(png((8, 8), (250, 250, 0)))
    client = make_app(processing_ratio=0.0, image_dir=str(tmp_path),
                      image_url_map={"https://cdn.example.com/logo.png": "logo.png"}).test_client()
    answer = post(client, dict(valid_body, init_image="https://cdn.example.com/logo.png"))
    assert "X-Mock-Warnings" not in answer.headers
    assert image_of(client, answer.json["output"][0]).getpixel((1, 1)) == (250, 250, 0)


def test_an_output_of_this_mock_is_used_from_the_store_not_over_http(client, valid_body, no_network, monkeypatch):
    def no_fetch(*args, **kwargs):
        raise AssertionError("an output of the mock itself must not be fetched over HTTP")

    monkeypatch.setattr("mockserver.images.netpolicy.NetPolicy.fetch", no_fetch)
    first = post(client, valid_body).json["output"][0]
    assert first.startswith("http://localhost/generations/")
    second = post(client, dict(valid_body, init_image=first, prompt="a dog", seed=7))
    assert second.json["status"] == "success" and "X-Mock-Warnings" not in second.headers
    out = image_of(client, second.json["output"][0])
    outside, _ = differs_only_inside_mask(out, image_of(client, first), sample_images.overture_mask())
    assert outside, "outside the mask, the second output is the first one"


def test_an_output_that_is_not_ready_cannot_be_an_init_image(client, valid_body):
    queued = post(client, valid_body, Prefer="eta=100").json
    answer = post(client, dict(valid_body, init_image=queued["future_links"][0])).json
    assert answer["message"] == "Unable to fetch image from provided URL"


def test_damage_found_only_when_rendering_gives_a_placeholder_and_a_warning(client, valid_body):
    corrupt = png()[:40] + b"\x00" * 50
    answer = post(client, dict(valid_body, init_image=data_uri(corrupt)))
    assert answer.json["status"] == "success", "the signature looked fine at POST"
    response = client.get(answer.json["output"][0].replace("http://localhost", ""))
    assert response.status_code == 200 and "init_image" in response.headers["X-Mock-Warnings"]
    again = client.get(answer.json["output"][0].replace("http://localhost", ""))
    assert again.headers["X-Mock-Warnings"] == response.headers["X-Mock-Warnings"], "cached with its warning"


def test_precheck_does_no_decoding(monkeypatch):
    monkeypatch.setattr("PIL.Image.open", lambda *a, **k: pytest.fail("decoded an image at POST"))
    artefacts = Artefacts()
    assert artefacts.precheck(data_uri(png()), "init_image").error is None
    assert artefacts.precheck(DOC_MASK, "mask_image").warning is None


# -- the safety checker ---------------------------------------------------------------------------

def test_a_flagged_prompt_is_blanked_and_reported_but_still_a_success(client, valid_body):
    flagged = post(client, dict(valid_body, prompt="a NUDE statue", safety_checker="yes",
                                safety_checker_type="black")).json
    assert flagged["status"] == "success" and flagged["nsfw_content_detected"] is True
    assert image_of(client, flagged["output"][0]).getbbox() is None, "all black"
    unchecked = post(client, dict(valid_body, prompt="a NUDE statue", safety_checker="no")).json
    assert unchecked["nsfw_content_detected"] is False
    assert post(client, dict(valid_body, prompt="a nudestatue")).json["nsfw_content_detected"] is False


@pytest.mark.parametrize("kind", ["blur", "pixelate", "sensitive_content_text"])
def test_each_safety_checker_type_alters_the_image(client, valid_body, kind):
    clean = image_of(client, post(client, dict(valid_body, seed=3, prompt="nsfw art", safety_checker="no")).json[
        "output"][0])
    flagged = image_of(client, post(client, dict(valid_body, seed=3, prompt="nsfw art", safety_checker_type=kind)).json[
        "output"][0])
    assert flagged.size == clean.size and flagged != clean
    if kind == "sensitive_content_text":
        assert flagged.convert("L").point(lambda v: 255 if v > 128 else 0).getbbox() is not None, "the notice shows"


def test_the_trigger_words_are_configurable(make_app, valid_body):
    client = make_app(processing_ratio=0.0, nsfw_words=("forbidden",)).test_client()
    assert post(client, dict(valid_body, prompt="a Forbidden fruit")).json["nsfw_content_detected"] is True
    assert post(client, dict(valid_body, prompt="nsfw")).json["nsfw_content_detected"] is False


def test_images_are_not_rendered_while_answering_the_post(make_app, valid_body, monkeypatch):
    app = make_app(processing_ratio=0.0)
    monkeypatch.setattr("mockserver.images.artefacts.render", lambda *a: pytest.fail("rendered during the POST"))
    assert post(app.test_client(), valid_body).json["status"] == "success"
    assert mock_state(app).artefacts.cache.stats()["items"] == 0


def _job(render_args, **overrides):
    from mockserver.state.jobs import Job

    values = dict(id=1, owner="o", created_at=0.0, ready_at=0.0, outcome="success",
                  file_prefix="00000000-0000-4000-8000-000000000001", samples=1, width=64, height=48, seed=5,
                  generation_time=1.0, meta={}, render=render_args)
    values.update(overrides)
    return Job(**values)


def test_a_jobs_render_mode_picks_how_its_output_is_made():
    from mockserver.images.render import RenderSpec, render

    init = data_uri(png((64, 48), (200, 30, 40)))
    mask = data_uri(png((64, 48), (255, 255, 255)))
    made = lambda mode, **extra: Artefacts().render_output(  # noqa: E731
        _job({"prompt": "a cat", "init_image": init, "mask_image": mask, "mode": mode, **extra}), 0).data
    painted = render(RenderSpec(64, 48, 5, "a cat", 0, mode="text2img"), None, None)
    assert made("text2img") == painted  # the prompt alone: the images are not even read
    assert made("inpaint") == painted  # an all-white mask repaints everything
    red = Image.new("RGB", (64, 48), (200, 30, 40))
    assert made("img2img", strength=0.5) == render(RenderSpec(64, 48, 5, "a cat", 0, mode="img2img", strength=0.5),
                                                   red, None)
    assert made("img2img", strength=0.5) != made("img2img", strength=0.9)
    assert made(None) == made("inpaint")  # jobs stored before modes existed are inpaints


@pytest.mark.parametrize("value, expected", [(0.25, 0.25), ("0.4", 0.4), (1, 1.0), (None, 0.7), (True, 0.7),
                                             ("strong", 0.7), (1.5, 0.7), (float("nan"), 0.7), (10 ** 400, 0.7)])
def test_a_stored_strength_is_read_leniently(value, expected):
    from mockserver.images.artefacts import render_strength

    assert render_strength(value) == expected
