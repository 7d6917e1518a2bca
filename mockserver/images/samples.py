"""Built-in stand-ins for the documentation's sample images.

The ModelsLab docs use the CompVis "overture-creations" picture and mask as
``init_image`` / ``mask_image``. The mock is offline, so those URLs are mapped to these
procedurally drawn look-alikes: a 512x512 park scene and a mask whose white (255) area
is the part to repaint. Drawing is deterministic and needs no files or network.
"""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw

__all__ = ["SIZE", "overture", "overture_mask"]

SIZE = 512
_HORIZON = 330


def overture() -> Image.Image:
    """A 512x512 RGB park scene (sky, trees, grass, a bench). A fresh copy each call."""
    return _overture_cached().copy()


def overture_mask() -> Image.Image:
    """A 512x512 L mask, white ellipse (area to repaint) on black. A fresh copy each call."""
    return _overture_mask_cached().copy()


@functools.lru_cache(maxsize=1)
def _overture_cached() -> Image.Image:
    image = _sky_gradient()
    draw = ImageDraw.Draw(image)
    _draw_ground(draw)
    _draw_trees(draw)
    _draw_bench(draw)
    return image


@functools.lru_cache(maxsize=1)
def _overture_mask_cached() -> Image.Image:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).ellipse((156, 196, 356, 436), fill=255)
    return mask


def _sky_gradient() -> Image.Image:
    """Light blue at the top fading to pale near the horizon (one column, stretched)."""
    column = Image.new("RGB", (1, SIZE))
    top, bottom = (96, 150, 220), (214, 230, 245)
    for y in range(SIZE):
        t = min(y / _HORIZON, 1.0)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((SIZE, SIZE), Image.Resampling.NEAREST)


def _draw_ground(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, _HORIZON, SIZE, SIZE), fill=(78, 140, 64))
    draw.rectangle((0, _HORIZON + 110, SIZE, SIZE), fill=(66, 122, 54))
    draw.polygon([(200, SIZE), (312, SIZE), (270, _HORIZON), (242, _HORIZON)], fill=(190, 170, 130))


def _draw_trees(draw: ImageDraw.ImageDraw) -> None:
    for x, r in ((60, 70), (150, 50), (400, 80), (480, 55)):
        draw.rectangle((x - 8, _HORIZON - 60, x + 8, _HORIZON + 5), fill=(92, 64, 40))
        draw.ellipse((x - r, _HORIZON - 60 - 2 * r, x + r, _HORIZON - 40), fill=(40, 100, 46))


def _draw_bench(draw: ImageDraw.ImageDraw) -> None:
    wood, iron = (128, 84, 48), (40, 40, 44)
    draw.rectangle((176, 300, 336, 316), fill=wood)  # backrest
    draw.rectangle((176, 322, 336, 334), fill=wood)
    draw.rectangle((168, 356, 344, 370), fill=wood)  # seat
    for x in (180, 324):
        draw.rectangle((x, 296, x + 8, 410), fill=iron)  # legs and back posts
