"""Turns the ``init_image`` / ``mask_image`` strings of a request into images.

Real clients send public URLs, data URIs or raw base64. The mock is offline and must
never become an open fetcher, so each string is resolved in a fixed order — data URI,
raw base64, configured URL map (the docs' sample URLs map to built-in images), files
under one configured folder, URLs the NetPolicy allows — and anything else becomes
"no image + a warning" so the caller draws a placeholder. Bytes that are not an image
give the real service's error message; oversized images are refused from their header,
before any pixel is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Callable

from PIL import Image, UnidentifiedImageError

from mockserver.images import samples as sample_images
from mockserver.images.netpolicy import FetchError, FetchRefused, FetchTooLarge, NetPolicy

__all__ = [
    "BUILTIN_IMAGES",
    "DECODE_FORMATS",
    "DEFAULT_URL_MAP",
    "ERROR_TOO_LARGE",
    "ERROR_UNDECODABLE",
    "ImageSourceConfig",
    "Resolved",
    "decode_image",
    "resolve",
]

ERROR_UNDECODABLE = "Unable to fetch image from provided URL"  # the real service's wording
ERROR_TOO_LARGE = "Image too large"

_DOCS_FOLDER = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/"
DEFAULT_URL_MAP: dict[str, str] = {
    _DOCS_FOLDER + "overture-creations-5sI6fQgYIuo.png": "builtin:overture",
    _DOCS_FOLDER + "overture-creations-5sI6fQgYIuo_mask.png": "builtin:overture-mask",
}

BUILTIN_IMAGES: dict[str, Callable[[], Image.Image]] = {
    "builtin:overture": sample_images.overture,
    "builtin:overture-mask": sample_images.overture_mask,
}

# Formats we decode; others (EPS runs Ghostscript, TIFF & co. are attack surface) are refused.
DECODE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG; WebP checked apart
_BASE64_RE = re.compile(r"[A-Za-z0-9+/=_\-\s]+")
_DATA_URI_RE = re.compile(r"data:(?P<mime>[^,;]*)(?P<params>(;[^,;]*)*?),(?P<payload>.*)", re.S | re.I)
_MIN_RAW_BASE64 = 16  # 12 bytes: enough for any image magic
_SHOWN_CHARS = 80


@dataclass
class ImageSourceConfig:
    """Where images may come from and how big they may be."""

    local_dir: str | None = None
    url_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_URL_MAP))
    net: NetPolicy = field(default_factory=NetPolicy)
    timeout: float = 2.0
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 4096 * 4096


@dataclass(frozen=True)
class Resolved:
    """Outcome of resolving one reference.

    Exactly one of: ``image`` set (success); ``error`` set (the request should fail with
    that message); ``warning`` set with ``image`` None (draw a placeholder, report the
    warning). ``kind`` names the source: data_uri, base64, builtin, url_map, local, url,
    unreachable or empty. ``detail`` carries the technical reason behind an error.
    """

    image: Image.Image | None
    warning: str | None = None
    error: str | None = None
    kind: str = ""
    detail: str | None = None


def resolve(ref: str | None, cfg: ImageSourceConfig, *, field_name: str = "init_image") -> Resolved:
    """Resolve an ``init_image`` / ``mask_image`` value (``field_name`` labels warnings)."""
    text = "" if ref is None else str(ref).strip()
    if not text:
        return Resolved(None, warning=f"{field_name} is empty; using a placeholder", kind="empty")
    for step in (_from_data_uri, _from_raw_base64, _from_url_map, _from_local_dir, _from_url):
        result = step(text, cfg, field_name)
        if result is not None:
            return result
    return _unreachable(text, field_name)


def decode_image(data: bytes, cfg: ImageSourceConfig, kind: str) -> Resolved:
    """Decode bytes into a loaded image, refusing bombs from the header alone."""
    if len(data) > cfg.max_bytes:
        return _too_large(kind, f"{len(data)} bytes, more than the limit of {cfg.max_bytes}")
    try:
        image = Image.open(io.BytesIO(data), formats=DECODE_FORMATS)
    except Image.DecompressionBombError as exc:
        return _too_large(kind, str(exc))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return _undecodable(kind, f"not a decodable image: {exc}")
    width, height = image.size
    if width * height > cfg.max_pixels:
        image.close()
        return _too_large(kind, f"{width}x{height} is more than {cfg.max_pixels} pixels")
    try:
        image.load()
    except Exception as exc:  # truncated or corrupt data: Pillow raises many types
        return _undecodable(kind, f"image data is corrupt: {exc}")
    return Resolved(image, kind=kind)


# --------------------------------------------------------------------- steps
# Each step returns None when the reference is not its kind, so the next one runs.


def _from_data_uri(text: str, cfg: ImageSourceConfig, field_name: str) -> Resolved | None:
    if not text[:5].lower() == "data:":
        return None
    match = _DATA_URI_RE.fullmatch(text)
    if match is None or ";base64" not in match.group("params").lower():
        return _undecodable("data_uri", "data URI is not base64-encoded")
    data = _b64decode(match.group("payload"), cfg, "data_uri")
    if isinstance(data, Resolved):
        return data
    return decode_image(data, cfg, "data_uri")


def _from_raw_base64(text: str, cfg: ImageSourceConfig, field_name: str) -> Resolved | None:
    if len(text) < _MIN_RAW_BASE64 or not _BASE64_RE.fullmatch(text):
        return None
    head = _b64decode(re.sub(r"\s+", "", text)[:_MIN_RAW_BASE64], cfg, "base64")
    if isinstance(head, Resolved) or not _looks_like_image(head):
        return None
    data = _b64decode(text, cfg, "base64")
    if isinstance(data, Resolved):
        return data
    return decode_image(data, cfg, "base64")


def _from_url_map(text: str, cfg: ImageSourceConfig, field_name: str) -> Resolved | None:
    target = cfg.url_map.get(text)
    if target is None:
        return None
    if target.startswith("builtin:"):
        factory = BUILTIN_IMAGES.get(target)
        if factory is None:
            return Resolved(None, error=ERROR_UNDECODABLE, kind="builtin",
                            detail=f"url_map names unknown {target!r}; known: {sorted(BUILTIN_IMAGES)}")
        return Resolved(factory(), kind="builtin")
    path = target if os.path.isabs(target) or not cfg.local_dir else os.path.join(cfg.local_dir, target)
    data = _read_regular_file(path, cfg.max_bytes)
    if isinstance(data, str):
        warning = f"{field_name}: {_shorten(text)} maps to a file that cannot be read; using a placeholder"
        return Resolved(None, warning=warning, kind="url_map", detail=data)
    if data is None:
        return _too_large("url_map", f"{path} is larger than {cfg.max_bytes} bytes")
    return decode_image(data, cfg, "url_map")


def _from_local_dir(text: str, cfg: ImageSourceConfig, field_name: str) -> Resolved | None:
    if not cfg.local_dir or "://" in text or text[:5].lower() in ("http:", "https", "file:"):
        return None
    path = _inside(cfg.local_dir, text)
    if path is None:
        warning = f"{field_name}: {_shorten(text)} is outside the local image folder; using a placeholder"
        return Resolved(None, warning=warning, kind="local")
    data = _read_regular_file(path, cfg.max_bytes)
    if isinstance(data, str):
        return None  # not a file we have: fall through to "not reachable offline"
    if data is None:
        return _too_large("local", f"{path} is larger than {cfg.max_bytes} bytes")
    return decode_image(data, cfg, "local")


def _from_url(text: str, cfg: ImageSourceConfig, field_name: str) -> Resolved | None:
    if "://" not in text:
        return None
    refusal = cfg.net.check(text)
    if refusal is not None:
        return _unreachable(text, field_name, detail=refusal)
    try:
        data = cfg.net.fetch(text, timeout=cfg.timeout, max_bytes=cfg.max_bytes)
    except FetchTooLarge as exc:
        return _too_large("url", exc.reason)
    except FetchRefused as exc:
        return Resolved(None, kind="url", detail=exc.reason,
                        warning=f"{field_name}: {_shorten(text)} redirects elsewhere; redirects are not "
                                f"followed offline; using a placeholder")
    except FetchError as exc:
        return _undecodable("url", exc.reason)
    return decode_image(data, cfg, "url")


# --------------------------------------------------------------------- helpers


def _unreachable(text: str, field_name: str, detail: str | None = None) -> Resolved:
    return Resolved(None, kind="unreachable", detail=detail,
                    warning=f"{field_name}: {_shorten(text)} is not reachable offline; using a placeholder")


def _undecodable(kind: str, detail: str) -> Resolved:
    return Resolved(None, error=ERROR_UNDECODABLE, kind=kind, detail=detail)


def _too_large(kind: str, detail: str) -> Resolved:
    return Resolved(None, error=ERROR_TOO_LARGE, kind=kind, detail=detail)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _looks_like_image(head: bytes) -> bool:
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _b64decode(payload: str, cfg: ImageSourceConfig, kind: str) -> bytes | Resolved:
    """Lenient base64 (standard or URL-safe, whitespace, missing padding), size-capped."""
    compact = re.sub(r"\s+", "", payload)
    if len(compact) // 4 * 3 > cfg.max_bytes + 3:
        return _too_large(kind, f"base64 payload decodes to more than {cfg.max_bytes} bytes")
    compact = compact.rstrip("=")
    compact += "=" * (-len(compact) % 4)
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    try:
        return base64.b64decode(compact, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        return _undecodable(kind, f"invalid base64: {exc}")


def _inside(root: str, ref: str) -> str | None:
    """The real path of ``ref`` under ``root``, or None if it escapes (.., absolute, symlink)."""
    if "\x00" in ref or ".." in re.split(r"[\\/]", ref):
        return None
    real_root = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(real_root, ref))
    try:
        if os.path.commonpath([real_root, candidate]) != real_root or candidate == real_root:
            return None
    except ValueError:
        return None
    return candidate


def _read_regular_file(path: str, max_bytes: int) -> bytes | str | None:
    """File bytes; a reason string if unreadable or not a regular file; None if too big."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): a FIFO would block
            return f"{path} is not a regular file"
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return f"{path} is not a regular file"
            if info.st_size > max_bytes:
                return None
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None if len(data) > max_bytes else data
