"""Turn a finished job into the bytes its output URLs serve, and vet its images when it is made.

Two moments, two budgets:

* **At the POST** (``precheck``) nothing is decoded or rendered. A data URI or raw base64 has
  only its first bytes decoded to see an image signature (and a PNG's declared size, against
  decompression bombs); a URL in the URL map, an output of this mock, or an off-list URL costs
  no IO at all (the last one becomes a placeholder and a warning); a file under ``image_dir``
  has its first bytes read (the spec wants a URI, so such a file is named ``file:NAME`` or
  ``file:///NAME``, always resolved inside ``image_dir``). Bytes that are not an image are the real service's "Unable to fetch
  image from provided URL" error, answered at once. An allowed URL (loopback by default: the
  user set the server up on purpose) is fetched here, once, with a timeout and a byte cap, so
  a broken URL fails the request as it would on the real service; its bytes are kept for the
  render.
* **On the first GET** of an output URL (``render_output``) the init and mask images are
  resolved in full, the output is rendered (``mockserver.images.render``, by the job's
  ``render["mode"]``: text2img paints from seed and prompt alone, img2img transforms the init image
  by ``render["strength"]``, inpaint keeps the unmasked pixels of the init image and paints the
  masked area; a job without a mode is an inpaint) and kept in a size-capped LRU cache. A problem found only now (a corrupt image behind a good signature) gives a
  placeholder and an ``X-Mock-Warnings`` header, never an error for a job already accepted.

An init or mask image that is an output URL of this mock is looked up in the store and rendered,
never fetched over HTTP (that could wait on the mock itself).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import struct
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from mockserver.engine import errors
from mockserver.images.cache import ImageCache
from mockserver.images.sources import (
    DEFAULT_URL_MAP,
    ERROR_TOO_LARGE,
    ERROR_UNDECODABLE,
    ImageSourceConfig,
    Resolved,
    decode_image,
    resolve,
)
from mockserver.images.render import MODES, RenderSpec, encode_base64, render
from mockserver.state.jobs import Job
from mockserver.images.netpolicy import FetchError, FetchRefused, FetchTooLarge, NetPolicy

__all__ = ["Artefacts", "Check", "OUTPUT_NAME", "Rendered", "own_output"]

#: ``<uuid>-<index>.<ext>``: the file names output URLs end with.
OUTPUT_NAME = re.compile(
    r"(?P<prefix>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(?P<index>\d{1,2})\.(?P<ext>png|base64)")
_OWN_URL = re.compile(r"^https?://[^/?#]+(?:/[^?#]*)?/generations/" + OUTPUT_NAME.pattern + r"$")
_DATA_URI = re.compile(r"^data:(?P<mime>[^,;]*)(?P<params>(?:;[^,;]*)*),", re.I)
_RAW_B64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]{16,}$")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_HEAD = 64  # base64 characters decoded at POST: 48 bytes, enough for signatures and a PNG's IHDR
_MAX_DEPTH = 3  # an output used as the init of a job whose output is used as an init...


@dataclass(frozen=True)
class Check:
    """The POST-time verdict on one image reference: fine, a warning, or an error to answer."""

    warning: str | None = None
    error: errors.ApiError | None = None


@dataclass
class Rendered:
    data: bytes
    mimetype: str
    warnings: list[str] = field(default_factory=list)


def own_output(ref: str) -> re.Match[str] | None:
    """The file-name match when ``ref`` is a URL of the form ``.../generations/<uuid>-<i>.<ext>``."""
    return _OWN_URL.match(ref) if "/generations/" in ref else None


def local_path(ref: str) -> str | None:
    """The relative path a ``file:`` reference names inside the image folder (``file:a.png``,
    ``file:///a.png``, ``file://localhost/a.png``); None for anything else."""
    if ref[:5].lower() != "file:":
        return None
    rest = ref[5:]
    if rest.startswith("//"):
        host, _, rest = rest[2:].partition("/")
        if host not in ("", "localhost"):
            return None
    return urllib.parse.unquote(rest).lstrip("/") or None


def _looks_like_image(head: bytes) -> bool:
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _png_pixels(head: bytes) -> int | None:
    """Width x height a PNG declares in its IHDR (bytes 16-24), or None for other formats."""
    if head.startswith(_SIGNATURES[0]) and len(head) >= 24 and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width * height
    return None


def render_strength(value: Any, default: float = 0.7) -> float:
    """A job's ``strength`` as the renderer takes it: a number in [0, 1] (a numeric string too,
    from an old job or a lenient client), else ``default`` (the API's default, 0.7)."""
    if isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return number if 0.0 <= number <= 1.0 else default


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Artefacts:
    """Image checks at POST and output rendering at GET for one mock."""

    def __init__(self, *, local_dir: str | None = None, url_map: dict[str, str] | None = None,
                 allow_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1"), fetch_timeout: float = 2.0,
                 max_bytes: int = 10 * 1024 * 1024, cache_bytes: int = 128 * 1024 * 1024,
                 find_job: Callable[[str], Job | None] = lambda prefix: None,
                 is_done: Callable[[Job], bool] = lambda job: True, net: NetPolicy | None = None):
        self.sources = ImageSourceConfig(
            local_dir=local_dir,
            url_map={**DEFAULT_URL_MAP, **(url_map or {})},
            net=net if net is not None else NetPolicy(allow_hosts),
            timeout=fetch_timeout,
            max_bytes=max_bytes,
        )
        self.cache = ImageCache(cache_bytes)
        self._fetched = ImageCache(min(cache_bytes, 64 * 1024 * 1024))  # URL -> bytes fetched at POST
        self._notes = ImageCache(4 * 1024 * 1024)  # output name -> warnings found while rendering
        self._find_job = find_job
        self._is_done = is_done

    @classmethod
    def from_config(cls, config: Any, find_job: Callable[[str], Job | None],
                    is_done: Callable[[Job], bool]) -> "Artefacts":
        return cls(local_dir=config.image_dir, url_map=dict(config.image_url_map),
                   net=NetPolicy.for_bind(config.image_allow_hosts, config.host),
                   fetch_timeout=config.image_fetch_timeout,
                   max_bytes=config.image_max_bytes, cache_bytes=config.image_cache_bytes,
                   find_job=find_job, is_done=is_done)

    def clear(self) -> None:
        self.cache.clear()
        self._fetched.clear()
        self._notes.clear()

    # -- at the POST: cheap ---------------------------------------------------------------------

    def precheck(self, ref: Any, field_name: str) -> Check:
        """Is this init/mask reference usable? No decoding, no rendering, IO only for allowed URLs."""
        text = "" if ref is None else str(ref).strip()
        if not text:
            return Check(warning=f"{field_name} is empty; using a placeholder")
        if text[:5].lower() == "data:":
            return self._check_data_uri(text, field_name)
        if text in self.sources.url_map:
            return Check()
        own = own_output(text)
        if own is not None:
            job = self._find_job(own["prefix"])
            if job is not None:
                if int(own["index"]) < job.samples and own["ext"] == job.ext and self._is_done(job):
                    return Check()
                return self._error(field_name, ERROR_UNDECODABLE, f"{_short(text)} is not ready (yet)")
        path = local_path(text)
        if path is not None:
            return self._check_local(path, field_name, shown=text)
        if "://" in text:
            return self._check_url(text, field_name)
        if _RAW_B64.match(text[:4096]):
            head = self._b64_head(text)
            if head is not None and _looks_like_image(head):
                return self._check_payload(head, len(text), field_name)
        return self._check_local(text, field_name)

    def _error(self, field_name: str, message: str, detail: str) -> Check:
        return Check(warning=f"{field_name}: {detail}", error=errors.unable_to_fetch_image(field_name, message))

    @staticmethod
    def _b64_head(payload: str) -> bytes | None:
        compact = re.sub(r"\s+", "", payload[: _HEAD * 2])[:_HEAD]
        compact = compact[: len(compact) // 4 * 4]
        altchars = b"-_" if ("-" in compact or "_" in compact) else None
        try:
            return base64.b64decode(compact, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            return None

    def _check_payload(self, head: bytes, encoded_length: int, field_name: str) -> Check:
        if encoded_length // 4 * 3 > self.sources.max_bytes + 3:
            return self._error(field_name, ERROR_TOO_LARGE, f"more than {self.sources.max_bytes} bytes")
        if not _looks_like_image(head):
            return self._error(field_name, ERROR_UNDECODABLE, "the data is not a PNG, JPEG, WebP, GIF or BMP image")
        pixels = _png_pixels(head)
        if pixels is not None and pixels > self.sources.max_pixels:
            return self._error(field_name, ERROR_TOO_LARGE, f"the PNG declares {pixels} pixels, more than "
                                                            f"{self.sources.max_pixels}")
        return Check()

    def _check_data_uri(self, text: str, field_name: str) -> Check:
        match = _DATA_URI.match(text[:512])
        if match is None or ";base64" not in match["params"].lower():
            return self._error(field_name, ERROR_UNDECODABLE, "a data URI must be base64-encoded")
        payload = text[match.end():]
        head = self._b64_head(payload)
        if head is None:
            return self._error(field_name, ERROR_UNDECODABLE, "the data URI is not valid base64")
        return self._check_payload(head, len(payload), field_name)

    def _check_url(self, text: str, field_name: str) -> Check:
        refusal = self.sources.net.check(text)
        if refusal is not None:
            return Check(warning=f"{field_name}: {_short(text)} is not reachable offline; using a placeholder")
        try:
            data = self.sources.net.fetch(text, timeout=self.sources.timeout, max_bytes=self.sources.max_bytes)
        except FetchTooLarge as exc:
            return self._error(field_name, ERROR_TOO_LARGE, exc.reason)
        except FetchRefused as exc:
            return Check(warning=f"{field_name}: {_short(text)} cannot be used ({exc.reason}); using a placeholder")
        except FetchError as exc:
            return self._error(field_name, ERROR_UNDECODABLE, exc.reason)
        check = self._check_payload(data[:_HEAD], len(data) * 4 // 3, field_name)
        if check.error is None:
            self._fetched.put(text, data)
        return check

    def _check_local(self, text: str, field_name: str, shown: str | None = None) -> Check:
        root = self.sources.local_dir
        unreachable = Check(warning=f"{field_name}: {_short(shown or text)} is not reachable offline; "
                                    f"using a placeholder")
        if not root or "\x00" in text or ".." in re.split(r"[\\/]", text):
            return unreachable
        real_root = os.path.realpath(root)
        path = os.path.realpath(os.path.join(real_root, text))
        if os.path.commonpath([real_root, path]) != real_root or path == real_root or not os.path.isfile(path):
            return unreachable
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                head = handle.read(_HEAD)
        except OSError:
            return unreachable
        if size > self.sources.max_bytes:
            return self._error(field_name, ERROR_TOO_LARGE, f"the file has more than {self.sources.max_bytes} bytes")
        return self._check_payload(head, 0, field_name)

    # -- on the first GET: render and cache -------------------------------------------------------

    def render_output(self, job: Job, index: int, _depth: int = 0) -> Rendered:
        """The bytes and media type output ``index`` of a finished job serves (cached)."""
        name = f"{job.file_prefix}-{index}.{job.ext}"
        mimetype = "text/plain" if job.ext == "base64" else "image/png"
        cached = self.cache.get(name)
        if cached is not None:
            notes = self._notes.get(name)
            return Rendered(cached, mimetype, notes.decode().split("\n") if notes else [])
        warnings: list[str] = []
        render_args = job.render or {}
        mode = render_args.get("mode") if render_args.get("mode") in MODES else "inpaint"
        init = mask = None
        if mode != "text2img":
            init = self._source(render_args.get("init_image"), "init_image", warnings, _depth)
        if mode == "inpaint":
            mask = self._source(render_args.get("mask_image"), "mask_image", warnings, _depth)
        kind = render_args.get("safety_checker_type") or "sensitive_content_text"
        spec = RenderSpec(job.width, job.height, job.seed, str(render_args.get("prompt") or ""), index,
                          nsfw_blank=job.nsfw and kind not in ("blur", "pixelate"), mode=mode,
                          strength=render_strength(render_args.get("strength")))
        png = render(spec, init, mask)
        if job.nsfw:
            png = _censor(png, kind)
        data = encode_base64(png) if job.ext == "base64" else png
        self.cache.put(name, data)
        if warnings:
            self._notes.put(name, "\n".join(warnings).encode())
        return Rendered(data, mimetype, warnings)

    def _source(self, ref: Any, field_name: str, warnings: list[str], depth: int) -> Image.Image | None:
        text = "" if ref is None else str(ref).strip()
        if not text:
            return None
        own = own_output(text)
        if own is not None:
            job = self._find_job(own["prefix"])
            if job is not None:
                return self._from_output(job, own, field_name, warnings, depth)
        path = local_path(text)
        if path is not None:
            if not self.sources.local_dir:
                warnings.append(f"{field_name}: {_short(text)} is not reachable offline (no image_dir); "
                                f"using a placeholder")
                return None
            text = path
        fetched = self._fetched.get(text) if "://" in text else None
        result = decode_image(fetched, self.sources, "url") if fetched is not None else \
            resolve(text, self.sources, field_name=field_name)
        return self._use(result, field_name, warnings)

    def _from_output(self, job: Job, own: re.Match[str], field_name: str, warnings: list[str],
                     depth: int) -> Image.Image | None:
        index = int(own["index"])
        if depth >= _MAX_DEPTH or index >= job.samples or own["ext"] != job.ext or not self._is_done(job):
            warnings.append(f"{field_name}: the output it names cannot be used here; using a placeholder")
            return None
        data = self.render_output(job, index, depth + 1).data
        if job.ext == "base64":
            data = base64.b64decode(data.split(b",", 1)[1])
        return self._use(decode_image(data, self.sources, "output"), field_name, warnings)

    @staticmethod
    def _use(result: Resolved, field_name: str, warnings: list[str]) -> Image.Image | None:
        if result.image is not None:
            return result.image
        if result.warning:
            warnings.append(result.warning)
        elif result.error:  # result.detail may quote a decoder's or a socket's exception: not shown
            warnings.append(f"{field_name}: {result.error}; using a placeholder")
        return None


def _censor(png: bytes, kind: str) -> bytes:
    """What ``safety_checker_type`` does to a flagged image (``black`` is already black)."""
    if kind == "black":
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    if kind == "blur":
        image = image.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 24))
    elif kind == "pixelate":
        small = image.resize((max(1, width // 32), max(1, height // 32)), Image.Resampling.BOX)
        image = small.resize((width, height), Image.Resampling.NEAREST)
    else:  # sensitive_content_text: black with a notice, as the real service shows
        draw = ImageDraw.Draw(image)
        try:
            font = ImageFont.load_default(size=max(12, width // 16))
        except (TypeError, OSError, ImportError):  # Pillow without FreeType
            font = ImageFont.load_default()
        text = "Sensitive content"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (right - left)) / 2, (height - (bottom - top)) / 2), text, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1, optimize=False)
    return out.getvalue()
