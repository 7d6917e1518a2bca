"""Output rendering: init pixels kept outside the mask, a seed/prompt-driven fill inside,
byte-identical output for identical inputs."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from mockserver.images import render as images
from mockserver.images.render import RenderSpec, encode_base64, render
from mockserver.images.samples import overture, overture_mask

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def noise(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    bands = len(Image.new(mode, (1, 1)).getbands())
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * bands))


def expected_init(init: Image.Image, size) -> Image.Image:
    """Independent statement of the contract: RGB, then a bilinear resize."""
    rgb = init.convert("RGB")
    return rgb if rgb.size == size else rgb.resize(size, Image.Resampling.BILINEAR)


def expected_keep(mask: Image.Image, size) -> list[bool]:
    """True where the output must equal the init image (mask < 128 after resize)."""
    grey = mask.convert("L")
    grey = grey if grey.size == size else grey.resize(size, Image.Resampling.BILINEAR)
    return [v < 128 for v in grey.tobytes()]


def pixels(image: Image.Image) -> list[bytes]:
    raw = image.convert("RGB").tobytes()
    return [raw[i : i + 3] for i in range(0, len(raw), 3)]


def png_chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def spec(**overrides) -> RenderSpec:
    values = dict(width=64, height=48, seed=1, prompt="a red bench", index=0)
    values.update(overrides)
    return RenderSpec(**values)


def mean_difference(a: bytes, b: bytes) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(decode(a), decode(b))).mean) / 3


# --------------------------------------------------------------------- properties

sizes = st.integers(min_value=1, max_value=72)
prompts = st.text(max_size=40)
seeds = st.integers(min_value=-(2**63), max_value=2**64)


@settings(max_examples=60, deadline=None)
@given(
    width=sizes,
    height=sizes,
    seed=seeds,
    prompt=prompts,
    index=st.integers(0, 3),
    init_size=st.tuples(sizes, sizes),
    mask_size=st.tuples(sizes, sizes),
    init_mode=st.sampled_from(["RGB", "RGBA", "L", "P"]),
    noise_seed=st.integers(0, 2**32),
)
def test_property_unmasked_pixels_are_exactly_the_resized_init(
    width, height, seed, prompt, index, init_size, mask_size, init_mode, noise_seed
):
    init = noise(init_mode, init_size, noise_seed)
    mask = noise("L", mask_size, noise_seed + 1)
    out = decode(render(RenderSpec(width, height, seed, prompt, index), init, mask))
    assert out.size == (width, height) and out.mode == "RGB"
    got, want = pixels(out), pixels(expected_init(init, (width, height)))
    keep = expected_keep(mask, (width, height))
    assert all(g == w for g, w, k in zip(got, want, keep) if k)


@settings(max_examples=40, deadline=None)
@given(seed_a=seeds, seed_b=seeds, prompt=prompts)
def test_property_different_seed_changes_the_masked_region(seed_a, seed_b, prompt):
    if seed_a == seed_b:
        seed_b = seed_a + 1
    a = render(spec(seed=seed_a, prompt=prompt), None, None)
    b = render(spec(seed=seed_b, prompt=prompt), None, None)
    assert decode(a).tobytes() != decode(b).tobytes()


@settings(max_examples=40, deadline=None)
@given(prompt_a=prompts, prompt_b=prompts, index=st.integers(0, 3))
def test_property_different_prompt_changes_the_masked_region(prompt_a, prompt_b, index):
    if prompt_a == prompt_b:
        prompt_b += "!"
    a = render(spec(prompt=prompt_a, index=index), None, None)
    b = render(spec(prompt=prompt_b, index=index), None, None)
    assert decode(a).tobytes() != decode(b).tobytes()


@settings(max_examples=30, deadline=None)
@given(width=sizes, height=sizes, seed=seeds, prompt=prompts, fmt=st.sampled_from(["png", "jpg"]))
def test_property_identical_inputs_give_identical_bytes(width, height, seed, prompt, fmt):
    init, mask = noise("RGB", (20, 20), 7), noise("L", (20, 20), 8)
    one = render(RenderSpec(width, height, seed, prompt, 0, fmt=fmt), init, mask)
    two = render(RenderSpec(width, height, seed, prompt, 0, fmt=fmt), init.copy(), mask.copy())
    assert one == two


# --------------------------------------------------------------------- examples


def test_visibly_different_for_seed_prompt_and_index():
    base = render(spec(width=128, height=128), None, None)
    for change in (dict(seed=2), dict(prompt="a blue bench"), dict(index=1)):
        other = render(spec(width=128, height=128, **change), None, None)
        assert mean_difference(base, other) > 20, change


def test_masked_region_is_painted_over_with_the_docs_images():
    init, mask = overture(), overture_mask()
    out = decode(render(spec(width=512, height=512), init, mask))
    assert out.getpixel((10, 10)) == init.getpixel((10, 10))
    assert out.getpixel((256, 316)) != init.getpixel((256, 316))  # inside the white ellipse


def test_no_mask_repaints_everything_like_an_all_white_mask():
    white = Image.new("L", (10, 10), 255)
    assert render(spec(), noise("RGB", (64, 48), 1), None) == render(spec(), noise("RGB", (64, 48), 1), white)


def test_black_mask_returns_the_init_image():
    init = noise("RGB", (64, 48), 3)
    out = decode(render(spec(), init, Image.new("L", (64, 48), 0)))
    assert out.tobytes() == init.tobytes()


def test_threshold_is_128():
    init = Image.new("RGB", (4, 1), (10, 20, 30))
    mask = Image.frombytes("L", (4, 1), bytes([0, 127, 128, 255]))
    out = pixels(decode(render(spec(width=4, height=1), init, mask)))
    assert out[0] == out[1] == bytes((10, 20, 30))
    painted = pixels(decode(render(spec(width=4, height=1), init, None)))
    assert out[2:] == painted[2:]


def test_missing_init_uses_a_grey_placeholder():
    out = decode(render(spec(width=100, height=100), None, Image.new("L", (1, 1), 0)))
    assert out.getpixel((5, 5)) == (128, 128, 128)
    assert out.getpixel((32, 5)) != (128, 128, 128)  # grid line
    assert images.prepare_init(None, (3, 2)).size == (3, 2)


def test_nsfw_blank_is_black():
    out = decode(render(spec(nsfw_blank=True), noise("RGB", (8, 8), 1), None))
    assert out.size == (64, 48) and out.getextrema() == ((0, 0), (0, 0), (0, 0))


def test_jpeg_output():
    data = render(spec(fmt="jpg"), None, None)
    assert data[:3] == b"\xff\xd8\xff" and decode(data).size == (64, 48)
    assert encode_base64(data).startswith(b"data:image/jpeg;base64,")


def test_png_has_no_metadata_chunks():
    data = render(spec(), overture(), overture_mask())
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert set(png_chunk_types(data)) == {b"IHDR", b"IDAT", b"IEND"}


def test_sixteen_bit_greyscale_init():
    init = Image.new("I;16", (4, 4), 65535)
    out = decode(render(spec(width=4, height=4), init, Image.new("L", (4, 4), 0)))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_caller_images_are_not_modified():
    init, mask = noise("RGB", (64, 48), 5), noise("L", (64, 48), 6)
    before = (init.tobytes(), mask.tobytes())
    render(spec(), init, mask)
    assert (init.tobytes(), mask.tobytes()) == before


@pytest.mark.parametrize(
    "bad", [dict(width=0), dict(height=-1), dict(width=images.MAX_SIDE + 1), dict(fmt="gif")]
)
def test_invalid_specs_rejected(bad):
    with pytest.raises(ValueError):
        spec(**bad)


def test_encode_base64_roundtrip():
    data = render(spec(), None, None)
    encoded = encode_base64(data)
    assert encoded.startswith(b"data:image/png;base64,")
    assert base64.b64decode(encoded.split(b",", 1)[1]) == data


def test_pattern_seed_is_stable_and_not_pythons_hash():
    assert images.pattern_seed(1, "x", 0) == images.pattern_seed(1, "x", 0)
    assert images.pattern_seed(1, "x", 0) != images.pattern_seed(1, "x", 1)
    assert images.pattern_seed(1, "\ud800", 0)  # lone surrogates from JSON do not crash


def test_deterministic_across_processes():
    """hash() randomisation must not leak in: another interpreter renders the same bytes."""
    script = (
        "import hashlib, sys\n"
        "from mockserver.images.render import RenderSpec, render\n"
        "from mockserver.images.samples import overture, overture_mask\n"
        "data = render(RenderSpec(96, 64, 42, 'a cat', 1), overture(), overture_mask())\n"
        "sys.stdout.write(hashlib.sha256(data).hexdigest())\n"
    )
    here = hashlib.sha256(render(RenderSpec(96, 64, 42, "a cat", 1), overture(), overture_mask())).hexdigest()
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=REPO)
    there = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert there.stdout == here


# --------------------------------------------------------------------- text2img and img2img


def luminance_correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two same-size images' greyscale pixels (1 = same picture)."""
    xs, ys = a.convert("L").tobytes(), b.convert("L").tobytes()
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    vx, vy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return cov / (vx * vy) ** 0.5


@settings(max_examples=40, deadline=None)
@given(width=sizes, height=sizes, seed=seeds, prompt=prompts, index=st.integers(0, 3))
def test_property_text2img_is_size_true_deterministic_and_ignores_the_images(width, height, seed, prompt, index):
    made = RenderSpec(width, height, seed, prompt, index, mode="text2img")
    alone = render(made, None, None)
    assert decode(alone).size == (width, height)
    assert render(made, noise("RGB", (9, 9), 1), noise("L", (9, 9), 2)) == alone


def test_text2img_follows_the_seed_and_the_colours_the_prompt_names():
    base = render(spec(width=128, height=128, mode="text2img"), None, None)
    assert mean_difference(base, render(spec(width=128, height=128, seed=2, mode="text2img"), None, None)) > 20
    means = {}
    for word in ("red", "green", "blue"):
        stats = [ImageStat.Stat(decode(render(spec(seed=s, prompt=f"a {word} bench", mode="text2img"), None, None)))
                 for s in range(20)]
        means[word] = [sum(st.mean[band] for st in stats) / len(stats) for band in range(3)]
    assert max(range(3), key=means["red"].__getitem__) == 0
    assert max(range(3), key=means["green"].__getitem__) == 1
    assert max(range(3), key=means["blue"].__getitem__) == 2
    assert images.prompt_colours("Red sky, BLUE sea, red boat") == [images.COLOUR_WORDS["red"],
                                                                   images.COLOUR_WORDS["blue"]]


def test_img2img_strength_zero_is_the_init_image_and_the_mask_is_ignored():
    init = noise("RGB", (64, 48), 11)
    out = render(spec(mode="img2img", strength=0.0), init, Image.new("L", (64, 48), 255))
    assert decode(out).tobytes() == init.tobytes()
    assert render(spec(mode="img2img"), init, None) == render(spec(mode="img2img"), init, noise("L", (8, 8), 3))


def test_img2img_moves_further_from_the_init_image_the_higher_the_strength():
    init = overture()
    out = {s: decode(render(spec(width=256, height=256, mode="img2img", strength=s), init, None))
           for s in (0.1, 0.3, 0.5, 0.7, 0.9, 1.0)}
    resized = expected_init(init, (256, 256))
    distance = [sum(ImageStat.Stat(ImageChops.difference(out[s], resized)).mean) / 3 for s in sorted(out)]
    assert distance == sorted(distance) and distance[0] < 8 < 20 < distance[-1], distance
    for low, high in zip(distance, distance[1:]):
        assert high - low > 2  # each step of strength is a visible step away


def test_img2img_stays_visibly_related_to_the_init_image_and_text2img_does_not():
    init = overture()
    resized = expected_init(init, (128, 128))
    for seed in range(3):
        transformed = decode(render(spec(width=128, height=128, seed=seed, mode="img2img", strength=0.7), init, None))
        painted = decode(render(spec(width=128, height=128, seed=seed, mode="text2img"), init, None))
        assert luminance_correlation(transformed, resized) > 0.75
        assert abs(luminance_correlation(painted, resized)) < 0.3


def test_img2img_depends_on_the_init_image_the_seed_and_the_prompt():
    a, b = noise("RGB", (64, 48), 1), noise("RGB", (64, 48), 2)
    base = render(spec(mode="img2img"), a, None)
    assert render(spec(mode="img2img"), b, None) != base
    assert render(spec(mode="img2img", seed=9), a, None) != base
    assert render(spec(mode="img2img", prompt="a green bench"), a, None) != base
    assert render(spec(mode="img2img"), a.copy(), None) == base
    out = decode(render(spec(mode="img2img"), None, None))  # no init: the placeholder, transformed
    assert out.size == (64, 48)


@pytest.mark.parametrize("bad", [dict(mode="outpaint"), dict(strength=1.5), dict(strength=-0.1),
                                 dict(strength=float("nan"))])
def test_invalid_modes_and_strengths_rejected(bad):
    with pytest.raises(ValueError):
        spec(**bad)
