"""Renders the mock's output images, one way per kind of generation (``RenderSpec.mode``).

* ``text2img`` paints from the prompt alone: a sky-to-ground gradient, bands and circles whose
  colours and positions come from a hash of (seed, prompt, sample index); colour words in the
  prompt ("a red bench", "blue sky") lead the palette, so the picture visibly follows it.
* ``img2img`` transforms the init image: it is resized to the requested size, posterised and
  tinted from the palette, half covered by the painted pattern, and blended with the original by
  ``strength`` (0 gives the init image back, 1 the full transformation: the further the higher
  the strength, as the API describes ``strength``, but the init image's shapes always show).
* ``inpaint`` keeps the unmasked pixels of the init image exactly and paints the masked area.

Every output is a real image of the right size, byte-identical for identical inputs, visibly
different for different seeds or prompts, and fast enough to render on the first GET.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

__all__ = [
    "MASK_THRESHOLD",
    "MAX_SIDE",
    "MODES",
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
#: The kinds of generation (the ``render`` of an operation's ``x-mock-behaviour``).
MODES = ("text2img", "img2img", "inpaint")
#: How much of the img2img transformation is the painted pattern (the rest is the stylised init).
IMG2IMG_PATTERN_SHARE = 0.5


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
    mode: str = "inpaint"
    strength: float = 0.7  # img2img only: 0 = the init image, 1 = the full transformation

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0.0 <= self.strength <= 1.0:  # also refuses NaN
            raise ValueError(f"strength must be between 0 and 1, got {self.strength!r}")
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

    ``inpaint``: pixels where the prepared mask is 0 are exactly ``prepare_init(init, size)``;
    the rest is the hash-derived pattern; ``mask=None`` repaints everything. ``text2img``
    ignores both images; ``img2img`` ignores the mask and transforms the init image (a grey
    placeholder when None) by ``strength``. ``nsfw_blank`` gives a black image, as the real
    safety checker does.
    """
    if spec.nsfw_blank:
        return _encode(Image.new("RGB", spec.size, (0, 0, 0)), spec.fmt)
    pattern_int = pattern_seed(spec.seed, spec.prompt, spec.index)
    pattern = _pattern(spec.size, pattern_int, spec.prompt)
    if spec.mode == "text2img" or (spec.mode == "inpaint" and mask is None):
        return _encode(pattern, spec.fmt)
    base = prepare_init(init, spec.size)
    if spec.mode == "img2img":
        return _encode(transform(base, pattern, spec.strength, pattern_int, spec.prompt), spec.fmt)
    return _encode(Image.composite(pattern, base, prepare_mask(mask, spec.size)), spec.fmt)


def transform(base: Image.Image, pattern: Image.Image, strength: float, pattern_int: int,
              prompt: str = "") -> Image.Image:
    """img2img: ``base`` (RGB) moved towards a stylised version of itself by ``strength``.

    The stylised version is ``base`` posterised and tinted with the palette's first colour, with
    the painted ``pattern`` laid over it at ``IMG2IMG_PATTERN_SHARE``. Each pixel's distance from
    the init image grows linearly with ``strength`` (up to rounding): 0 returns ``base`` itself.
    """
    if strength <= 0.0:
        return base
    rng = random.Random(pattern_int ^ 0x5EED)
    tint = Image.new("RGB", base.size, _palette(prompt, rng, 1)[0])
    stylised = Image.blend(ImageOps.posterize(base, 2), tint, 0.35)
    target = Image.blend(stylised, pattern, IMG2IMG_PATTERN_SHARE)
    return target if strength >= 1.0 else Image.blend(base, target, strength)


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


#: Colour words a prompt may name, and the colour each stands for.
COLOUR_WORDS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40), "orange": (235, 140, 30), "yellow": (235, 210, 50), "gold": (212, 175, 55),
    "green": (50, 160, 70), "blue": (40, 90, 200), "cyan": (40, 190, 210), "teal": (30, 128, 128),
    "purple": (130, 60, 170), "violet": (140, 90, 210), "pink": (240, 130, 180), "magenta": (200, 40, 160),
    "brown": (120, 80, 40), "black": (20, 20, 20), "white": (240, 240, 240), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "silver": (190, 190, 200),
}
_WORD = re.compile(r"[a-z]+")


def prompt_colours(prompt: str) -> list[tuple[int, int, int]]:
    """The colours a prompt names, in order, each once ("a red bench under a blue sky")."""
    found: list[tuple[int, int, int]] = []
    for word in _WORD.findall(prompt.lower()[:4096]):
        colour = COLOUR_WORDS.get(word)
        if colour is not None and colour not in found:
            found.append(colour)
    return found


def _palette(prompt: str, rng: random.Random, count: int) -> list[tuple[int, int, int]]:
    """``count`` colours: those the prompt names first, each varied a little by the seed, then random."""
    named = prompt_colours(prompt)
    colours = []
    for index in range(count):
        if named:
            r, g, b = named[index % len(named)]
            jitter = rng.randrange(-24, 25)
            colours.append(tuple(max(0, min(255, c + jitter)) for c in (r, g, b)))  # type: ignore[misc]
        else:
            colours.append(_colour(rng))
    return colours  # type: ignore[return-value]


def _pattern(size: tuple[int, int], pattern_int: int, prompt: str = "") -> Image.Image:
    """A gradient, bands then circles; colours and geometry drawn from one seeded RNG, the colours
    the prompt names leading the palette."""
    rng = random.Random(pattern_int)
    palette = _palette(prompt, rng, 4)
    top, bottom = palette[0], _colour(rng) if len(prompt_colours(prompt)) < 2 else palette[1]
    gradient = Image.linear_gradient("L").resize(size, RESAMPLE)
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)
    draw = ImageDraw.Draw(image)
    _draw_bands(draw, size, rng, palette)
    _draw_circles(draw, size, rng, palette)
    return image


def _pick(rng: random.Random, palette: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A palette colour half the time, any colour otherwise (the RNG is drawn the same either way)."""
    choice, colour = rng.randrange(len(palette) * 2), _colour(rng)
    return palette[choice] if choice < len(palette) else colour


def _draw_bands(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random,
                palette: list[tuple[int, int, int]]) -> None:
    width, height = size
    vertical = rng.random() < 0.5
    length = width if vertical else height
    count = rng.randint(3, 7)
    edges = sorted(rng.randrange(length + 1) for _ in range(count))
    for start in edges[::2]:
        stop = start + max(1, round(length * rng.uniform(0.04, 0.2)))
        box = (start, 0, stop, height) if vertical else (0, start, width, stop)
        draw.rectangle(box, fill=_pick(rng, palette))


def _draw_circles(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random,
                  palette: list[tuple[int, int, int]]) -> None:
    width, height = size
    short = min(width, height)
    for _ in range(rng.randint(3, 8)):
        cx, cy = rng.randrange(width), rng.randrange(height)
        r = max(1, round(short * rng.uniform(0.05, 0.3)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_pick(rng, palette), outline=_colour(rng),
                     width=max(1, r // 8))


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Deterministic encoding: no metadata, no timestamps, fixed settings."""
    out = io.BytesIO()
    if _FORMATS[fmt.lower()] == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    else:
        image.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return out.getvalue()
