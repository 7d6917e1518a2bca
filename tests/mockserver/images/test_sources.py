"""Resolving init_image / mask_image strings: order, confinement, errors, bombs."""

from __future__ import annotations

import base64
import http.server
import io
import os
import socket
import struct
import threading
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mockserver.images import samples as sample_images
from mockserver.images.sources import (
    DEFAULT_URL_MAP,
    ERROR_TOO_LARGE,
    ERROR_UNDECODABLE,
    ImageSourceConfig,
    resolve,
)
from mockserver.images.netpolicy import NetPolicy

_REAL_CONNECT = socket.socket.connect
DOC_INIT = (
    "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/"
    "overture-creations-5sI6fQgYIuo.png"
)
DOC_MASK = DOC_INIT.replace(".png", "_mask.png")


def encoded(fmt: str = "PNG", size=(24, 16), mode="RGB", colour=(200, 30, 40)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG with a valid IHDR claiming width x height and no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + iend


def offline_cfg(**kwargs) -> ImageSourceConfig:
    kwargs.setdefault("net", NetPolicy(allow_hosts=()))
    return ImageSourceConfig(**kwargs)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    def guarded_connect(sock, address):
        assert address[0] in ("127.0.0.1", "::1"), f"test tried to connect to {address!r}"
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# --------------------------------------------------------------------- inline data


def test_data_uri_png():
    ref = "data:image/png;base64," + base64.b64encode(encoded()).decode()
    result = resolve(ref, offline_cfg())
    assert result.kind == "data_uri" and result.error is None and result.warning is None
    assert result.image.size == (24, 16)
    assert result.image.getpixel((0, 0)) == (200, 30, 40)


def test_data_uri_tolerates_whitespace_urlsafe_and_missing_padding():
    payload = base64.urlsafe_b64encode(encoded(size=(7, 5))).decode().rstrip("=")
    wrapped = "\n".join(payload[i : i + 60] for i in range(0, len(payload), 60))
    result = resolve("DATA:image/png;base64," + wrapped, offline_cfg())
    assert result.image is not None and result.image.size == (7, 5)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_raw_base64(fmt):
    result = resolve(base64.b64encode(encoded(fmt)).decode(), offline_cfg())
    assert result.kind == "base64" and result.image.size == (24, 16)


def test_raw_base64_of_non_image_is_not_taken_for_an_image():
    ref = base64.b64encode(b"just some text that is long enough").decode()
    result = resolve(ref, offline_cfg())
    assert result.image is None and result.kind == "unreachable" and result.warning


@pytest.mark.parametrize(
    "ref",
    [
        "data:image/png;base64," + base64.b64encode(b"<html>nope</html>").decode(),
        "data:image/png;base64,!!!not base64!!!",
        "data:image/png,rawbytes",
        "data:image/png;base64," + base64.b64encode(encoded()[:40]).decode(),  # truncated PNG
        "data:image/tiff;base64," + base64.b64encode(encoded("TIFF")).decode(),  # not decoded
    ],
)
def test_undecodable_inline_data_is_the_real_error(ref):
    result = resolve(ref, offline_cfg())
    assert result.image is None and result.error == ERROR_UNDECODABLE and result.detail


# --------------------------------------------------------------------- bombs


@pytest.mark.parametrize("width, height", [(5000, 5000), (30000, 30000)])
def test_decompression_bomb_refused_from_header(width, height):
    before = Image.MAX_IMAGE_PIXELS
    ref = "data:image/png;base64," + base64.b64encode(png_header_only(width, height)).decode()
    result = resolve(ref, offline_cfg())
    # The file has no pixel data: had it been decoded the error would be "undecodable".
    assert result.error == ERROR_TOO_LARGE, result
    assert Image.MAX_IMAGE_PIXELS == before


def test_max_pixels_is_configurable():
    ref = base64.b64encode(encoded(size=(20, 20))).decode()
    assert resolve(ref, offline_cfg(max_pixels=399)).error == ERROR_TOO_LARGE
    assert resolve(ref, offline_cfg(max_pixels=400)).image is not None


def test_max_bytes_applies_to_inline_data():
    ref = base64.b64encode(encoded(size=(64, 64))).decode()
    assert resolve(ref, offline_cfg(max_bytes=50)).error == ERROR_TOO_LARGE


# --------------------------------------------------------------------- url map / builtins


def test_default_url_map_names_the_documentation_images():
    assert DEFAULT_URL_MAP == {DOC_INIT: "builtin:overture", DOC_MASK: "builtin:overture-mask"}


def test_documentation_urls_resolve_offline_to_builtins():
    init = resolve(DOC_INIT, offline_cfg())
    mask = resolve(DOC_MASK, offline_cfg(), field_name="mask_image")
    assert (init.kind, init.image.size, init.image.mode) == ("builtin", (512, 512), "RGB")
    assert (mask.kind, mask.image.size, mask.image.mode) == ("builtin", (512, 512), "L")


def test_builtins_are_deterministic_copies():
    a, b = sample_images.overture(), sample_images.overture()
    assert a is not b and a.tobytes() == b.tobytes()
    a.putpixel((0, 0), (1, 2, 3))
    assert sample_images.overture().getpixel((0, 0)) != (1, 2, 3)


def test_builtin_mask_is_white_to_repaint_on_black():
    mask = sample_images.overture_mask()
    assert set(mask.tobytes()) == {0, 255}
    assert mask.getpixel((256, 316)) == 255 and mask.getpixel((5, 5)) == 0
    scene = sample_images.overture()
    assert len(scene.getcolors(maxcolors=1 << 20)) > 20  # a picture, not a flat fill


def test_url_map_to_a_file(tmp_path):
    (tmp_path / "cat.png").write_bytes(encoded(size=(9, 9)))
    cfg = offline_cfg(local_dir=str(tmp_path), url_map={"https://cdn.example/cat.png": "cat.png"})
    result = resolve("https://cdn.example/cat.png", cfg)
    assert result.kind == "url_map" and result.image.size == (9, 9)


def test_url_map_to_a_missing_file_warns(tmp_path):
    cfg = offline_cfg(url_map={"https://cdn.example/cat.png": str(tmp_path / "gone.png")})
    result = resolve("https://cdn.example/cat.png", cfg)
    assert result.image is None and result.warning and result.error is None


def test_url_map_unknown_builtin_is_an_error():
    cfg = offline_cfg(url_map={"https://x.example/a.png": "builtin:nope"})
    result = resolve("https://x.example/a.png", cfg)
    assert result.error and "builtin:nope" in result.detail


# --------------------------------------------------------------------- local folder


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(encoded(size=(3, 4)))
    (root / "sub" / "b.jpg").write_bytes(encoded("JPEG", size=(5, 6)))
    (tmp_path / "secret.png").write_bytes(encoded(size=(8, 8)))
    return root


def test_local_files_under_the_folder(folder):
    cfg = offline_cfg(local_dir=str(folder))
    assert resolve("a.png", cfg).image.size == (3, 4)
    assert resolve("sub/b.jpg", cfg).image.size == (5, 6)
    assert resolve(str(folder / "a.png"), cfg).kind == "local"


@pytest.mark.parametrize("ref", ["../secret.png", "sub/../../secret.png", "sub/..", "/etc/passwd", "."])
def test_local_escapes_refused(folder, ref):
    result = resolve(ref, offline_cfg(local_dir=str(folder)))
    assert result.image is None and result.warning and result.error is None


def test_absolute_path_outside_refused(folder):
    result = resolve(str(folder.parent / "secret.png"), offline_cfg(local_dir=str(folder)))
    assert result.image is None and "outside" in result.warning


def test_symlink_out_of_the_folder_refused(folder):
    os.symlink(folder.parent / "secret.png", folder / "link.png")
    result = resolve("link.png", offline_cfg(local_dir=str(folder)))
    assert result.image is None and "outside" in result.warning


def test_symlink_within_the_folder_allowed(folder):
    os.symlink(folder / "a.png", folder / "alias.png")
    assert resolve("alias.png", offline_cfg(local_dir=str(folder))).image.size == (3, 4)


def test_fifo_is_not_read(folder):
    os.mkfifo(folder / "pipe.png")
    result = resolve("pipe.png", offline_cfg(local_dir=str(folder)))  # would block if opened
    assert result.image is None and result.warning


def test_missing_local_file_and_no_folder_warn(folder):
    assert resolve("nope.png", offline_cfg(local_dir=str(folder))).kind == "unreachable"
    assert resolve("a.png", offline_cfg()).kind == "unreachable"


def test_local_non_image_is_an_error(folder):
    (folder / "notes.png").write_text("hello")
    assert resolve("notes.png", offline_cfg(local_dir=str(folder))).error == ERROR_UNDECODABLE


# --------------------------------------------------------------------- URLs


def test_off_list_url_gets_the_placeholder_warning():
    url = "https://example.com/photo.png"
    result = resolve(url, ImageSourceConfig())
    assert result.image is None and result.error is None and result.kind == "unreachable"
    assert result.warning == f"init_image: {url} is not reachable offline; using a placeholder"
    masked = resolve(url, ImageSourceConfig(), field_name="mask_image")
    assert masked.warning.startswith("mask_image: ")


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "gopher://127.0.0.1/", "http://169.254.169.254/"])
def test_refused_schemes_and_hosts_warn(ref):
    result = resolve(ref, ImageSourceConfig())
    assert result.image is None and result.warning and result.detail


def test_long_refs_are_shortened_in_warnings():
    result = resolve("https://example.com/" + "a" * 500, ImageSourceConfig())
    assert len(result.warning) < 160


@pytest.mark.parametrize("ref", ["", "   ", None])
def test_empty_ref(ref):
    result = resolve(ref, ImageSourceConfig())
    assert result.image is None and result.kind == "empty" and result.warning


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    routes: dict[str, tuple[int, bytes, dict]] = {}

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        status, body, headers = self.routes.get(self.path, (404, b"", {}))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    _Handler.routes = {
        "/cat.png": (200, encoded(size=(11, 13)), {}),
        "/page.html": (200, b"<html></html>", {}),
        "/moved.png": (302, b"", {"Location": "http://169.254.169.254/"}),
        "/huge.png": (200, encoded(size=(64, 64)), {}),
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_allowed_url_is_fetched(server):
    result = resolve(server + "/cat.png", ImageSourceConfig())
    assert result.kind == "url" and result.image.size == (11, 13)


@pytest.mark.parametrize("path", ["/page.html", "/missing.png"])
def test_allowed_url_without_an_image_is_the_real_error(server, path):
    result = resolve(server + path, ImageSourceConfig())
    assert result.error == ERROR_UNDECODABLE and result.detail


def test_allowed_url_redirect_is_not_followed(server):
    result = resolve(server + "/moved.png", ImageSourceConfig())
    assert result.image is None and result.error is None and "redirect" in result.warning


def test_allowed_url_too_big(server):
    result = resolve(server + "/huge.png", ImageSourceConfig(max_bytes=100))
    assert result.error == ERROR_TOO_LARGE


# --------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9+/]{16,80}={0,2}", fullmatch=True))
def test_property_any_string_resolves_to_exactly_one_outcome(ref):
    result = resolve(ref, offline_cfg())
    outcomes = [result.image is not None, result.error is not None, result.warning is not None]
    assert sum(outcomes) == 1, result


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from(["PNG", "JPEG", "WEBP"]),
    st.booleans(),
)
def test_property_inline_images_roundtrip_size(width, height, fmt, as_data_uri):
    payload = base64.b64encode(encoded(fmt, size=(width, height))).decode()
    ref = f"data:image/{fmt.lower()};base64,{payload}" if as_data_uri else payload
    result = resolve(ref, offline_cfg())
    assert result.image is not None and result.image.size == (width, height)
