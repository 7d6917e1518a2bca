"""The images of a job for the inspector: its init and mask images as the mock resolved them, the
mask laid over the init image, and its outputs, all as PNG.

Nothing is fetched for this: a data URI, raw base64, a file under ``image_dir``, a URL of the URL
map (the built-in sample images) or an output of this mock is resolved as the render does; any
other URL is shown only if its bytes were kept when the job was made (an allowed URL fetched at
the POST), never fetched again. Outputs come from the render cache (rendered once if not there)
and are never journalled, so the inspector looking at a job adds nothing to its timeline.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from mockserver.images.artefacts import Artefacts, local_path, own_output
from mockserver.images.sources import decode_image, resolve
from mockserver.state.jobs import Job

__all__ = ["INPUTS", "ImageAnswer", "describe_input", "input_image", "output_image", "overlay_image"]

INPUTS = ("init_image", "mask_image")
THUMB = 768  # inputs are scaled down to fit this (the page shows thumbnails); outputs are sent whole
_OVERLAY = (255, 40, 40)


@dataclass
class ImageAnswer:
    png: bytes | None
    width: int = 0  # of the image as resolved (before any scaling)
    height: int = 0
    message: str = ""  # why there is no image


def _png(image: Image.Image, scale: bool = True) -> bytes:
    image = image.convert("RGBA") if image.mode not in ("RGB", "RGBA", "L") else image
    if scale and max(image.size) > THUMB:
        image = image.copy()
        image.thumbnail((THUMB, THUMB))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def describe_input(ref: Any) -> dict[str, Any]:
    """What kind of reference was sent, without the reference (it may be megabytes or carry a token)."""
    text = "" if ref is None else str(ref).strip()
    if not text:
        return {"kind": "none"}
    if text[:5].lower() == "data:":
        return {"kind": "data URI", "chars": len(text)}
    if own_output(text) is not None:
        return {"kind": "output of this mock"}
    if local_path(text) is not None:
        return {"kind": "file in image_dir"}
    if "://" in text:
        return {"kind": "URL"}
    return {"kind": "base64 or file name", "chars": len(text)}


def _resolve_input(artefacts: Artefacts, job: Job, name: str) -> tuple[Image.Image | None, str]:
    text = str((job.render or {}).get(name) or "").strip()
    if not text:
        return None, f"the request sent no {name}"
    own = own_output(text)
    if own is not None:
        source = artefacts._find_job(own["prefix"])
        index = int(own["index"])
        if source is None or index >= source.samples or own["ext"] != source.ext or not artefacts._is_done(source):
            return None, f"{name} names an output of this mock that is not ready or gone"
        data = artefacts.render_output(source, index).data
        if source.ext == "base64":
            data = base64.b64decode(data.split(b",", 1)[1])
        return decode_image(data, artefacts.sources, "output").image, ""
    path = local_path(text)
    if path is not None:
        if not artefacts.sources.local_dir:
            return None, f"{name} names a file but the mock has no image_dir"
        text = path
    elif "://" in text and text not in artefacts.sources.url_map:
        kept = getattr(artefacts, "_fetched", None)
        data = kept.get(text) if kept is not None else None
        if data is None:
            return None, (f"{name} is a URL the mock did not keep (not on the allow-list, or no longer cached); "
                          f"the inspector never fetches a URL")
        result = decode_image(data, artefacts.sources, "url")
        return result.image, result.error or ""
    result = resolve(text, artefacts.sources, field_name=name)  # no "://" left: nothing is fetched here
    if result.image is None:
        return None, result.warning or f"{result.error}: {result.detail or ''}".rstrip(": ")
    return result.image, ""


def input_image(artefacts: Artefacts, job: Job, name: str) -> ImageAnswer:
    image, message = _resolve_input(artefacts, job, name)
    if image is None:
        return ImageAnswer(None, message=message)
    return ImageAnswer(_png(image), image.width, image.height)


def overlay_image(artefacts: Artefacts, job: Job) -> ImageAnswer:
    """The init image with the mask's white area tinted red (at the init image's size)."""
    init, why = _resolve_input(artefacts, job, "init_image")
    mask, why_mask = _resolve_input(artefacts, job, "mask_image")
    if init is None or mask is None:
        return ImageAnswer(None, message=why or why_mask)
    base = init.convert("RGB")
    if max(base.size) > THUMB:
        base.thumbnail((THUMB, THUMB))
    alpha = mask.convert("L").resize(base.size).point(lambda v: v * 55 // 100)
    tinted = Image.composite(Image.new("RGB", base.size, _OVERLAY), base, alpha)
    return ImageAnswer(_png(tinted, scale=False), init.width, init.height)


def output_image(artefacts: Artefacts, job: Job, index: int) -> ImageAnswer:
    if index >= job.samples:
        return ImageAnswer(None, message=f"job {job.id} has {job.samples} output(s)")
    if not artefacts._is_done(job):
        return ImageAnswer(None, message=f"job {job.id} has no output yet (it is processing or failed)")
    data = artefacts.render_output(job, index).data
    if job.ext == "base64":
        data = base64.b64decode(data.split(b",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if not data.startswith(b"\x89PNG"):
            data = _png(image, scale=False)
    return ImageAnswer(data, width, height)
