"""Renders the mock's output images.

A real inpainting model keeps the unmasked pixels of the init image and paints the
masked area. The mock does the same cheaply: the init image (or a grey placeholder) is
resized to the requested size, and the masked area is filled with shapes whose colours
and positions come from a hash of (seed, prompt, sample index). The result is a real
image of the right size, byte-identical for identical inputs, visibly different for
different seeds or prompts, and fast enough to render on the first GET.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

__all__ = [
    "MASK_THRESHOLD",
    "MAX_SIDE",
    "RenderSpec",
    "encode_base64",
    "pattern_seed",
    "prepare_init",
    "prepare_mask",
    "render",
]

MAX_SIDE = 8192  # defence in depth; the API itself allows far less
MASK_THRESHOLD = 128  # mask pixels >= this (after resize, in L mode) are repainted
RESAMPLE = Image.Resampling.BILINEAR
PNG_COMPRESS_LEVEL = 1
JPEG_QUALITY = 90
_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
_MIME_BY_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


@dataclass(frozen=True)
class RenderSpec:
    """Everything that determines one output file besides the init and mask images."""

    width: int
    height: int
    seed: int
    prompt: str
    index: int
    nsfw_blank: bool = False
    fmt: str = "png"

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"width and height must be >= 1, got {self.width}x{self.height}")
        if self.width > MAX_SIDE or self.height > MAX_SIDE:
            raise ValueError(f"width and height must be <= {MAX_SIDE}, got {self.width}x{self.height}")
        if self.fmt.lower() not in _FORMATS:
            raise ValueError(f"fmt must be one of {sorted(_FORMATS)}, got {self.fmt!r}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def render(spec: RenderSpec, init: Image.Image | None, mask: Image.Image | None) -> bytes:
    """Encoded image bytes (PNG, or JPEG for fmt "jpg") for ``spec``.

    Pixels where the prepared mask is 0 are exactly ``prepare_init(init, size)``; the
    rest is the hash-derived pattern. ``mask=None`` repaints everything;
    ``nsfw_blank`` gives a black image, as the real safety checker does.
    """
    if spec.nsfw_blank:
        return _encode(Image.new("RGB", spec.size, (0, 0, 0)), spec.fmt)
    pattern = _pattern(spec.size, pattern_seed(spec.seed, spec.prompt, spec.index))
    if mask is None:
        return _encode(pattern, spec.fmt)
    base = prepare_init(init, spec.size)
    return _encode(Image.composite(pattern, base, prepare_mask(mask, spec.size)), spec.fmt)


def prepare_init(init: Image.Image | None, size: tuple[int, int]) -> Image.Image:
    """The init image as RGB at ``size`` (a grey placeholder with a faint grid if None)."""
    if init is None:
        return _placeholder(size)
    rgb = _to_rgb(init)
    if rgb.size == size:
        return rgb.copy() if rgb is init else rgb
    return rgb.resize(size, RESAMPLE)


def prepare_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask as L at ``size``, thresholded: 255 = repaint, 0 = keep the init pixel."""
    grey = mask.convert("L") if mask.mode != "L" else mask
    if grey.size != size:
        grey = grey.resize(size, RESAMPLE)
    return grey.point(_THRESHOLD_LUT)


def pattern_seed(seed: int, prompt: str, index: int) -> int:
    """A stable 64-bit integer from (seed, prompt, index) via SHA-256 (not hash())."""
    material = f"{seed}\x00{index}\x00{prompt}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big")


def encode_base64(data: bytes) -> bytes:
    """``b"data:image/png;base64,..."`` (image/jpeg when the bytes are a JPEG)."""
    mime = next((m for magic, m in _MIME_BY_MAGIC if data.startswith(magic)), "image/png")
    return b"data:" + mime.encode("ascii") + b";base64," + base64.b64encode(data)


# --------------------------------------------------------------------- helpers

_THRESHOLD_LUT = [0] * MASK_THRESHOLD + [255] * (256 - MASK_THRESHOLD)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I") or image.mode == "F":
        # 16/32-bit greyscale: scale to 8 bits the way PNG viewers do.
        scale = 1 / 256 if image.mode.startswith("I;16") or image.mode == "I" else 1.0
        return image.convert("I").point(lambda v: v * scale).convert("L").convert("RGB")
    return image.convert("RGB")


def _placeholder(size: tuple[int, int]) -> Image.Image:
    """Mid-grey with a faint 32-px grid: obviously 'no init image'."""
    image = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(image)
    width, height = size
    for x in range(0, width, 32):
        draw.line((x, 0, x, height), fill=(138, 138, 138))
    for y in range(0, height, 32):
        draw.line((0, y, width, y), fill=(138, 138, 138))
    return image


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _pattern(size: tuple[int, int], pattern_int: int) -> Image.Image:
    """Bands then circles, colours and geometry drawn from one seeded RNG."""
    rng = random.Random(pattern_int)
    image = Image.new("RGB", size, _colour(rng))
    draw = ImageDraw.Draw(image)
    _draw_bands(draw, size, rng)
    _draw_circles(draw, size, rng)
    return image


def _draw_bands(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random) -> None:
    width, height = size
    vertical = rng.random() < 0.5
    length = width if vertical else height
    count = rng.randint(3, 7)
    edges = sorted(rng.randrange(length + 1) for _ in range(count))
    for start in edges[::2]:
        stop = start + max(1, round(length * rng.uniform(0.04, 0.2)))
        box = (start, 0, stop, height) if vertical else (0, start, width, stop)
        draw.rectangle(box, fill=_colour(rng))


def _draw_circles(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random) -> None:
    width, height = size
    short = min(width, height)
    for _ in range(rng.randint(3, 8)):
        cx, cy = rng.randrange(width), rng.randrange(height)
        r = max(1, round(short * rng.uniform(0.05, 0.3)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_colour(rng), outline=_colour(rng), width=max(1, r // 8))


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Deterministic encoding: no metadata, no timestamps, fixed settings."""
    out = io.BytesIO()
    if _FORMATS[fmt.lower()] == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    else:
        image.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return out.getvalue()
