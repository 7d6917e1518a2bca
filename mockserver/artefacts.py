"""Turn a finished job into the bytes its output URL serves.

A plain image of the requested size for now; the mask-aware renderer replaces the drawing.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from mockserver.jobs import Job

__all__ = ["render_output"]


def _png(job: Job, index: int) -> bytes:
    shade = (job.seed + index * 97) % 200 + 28
    image = Image.new("RGB", (job.width, job.height), (shade, 96, 255 - shade))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def render_output(job: Job, index: int) -> tuple[bytes, str]:
    """(bytes, mimetype) for output ``index`` of a finished job."""
    png = _png(job, index)
    if job.ext == "base64":
        return b"data:image/png;base64," + base64.b64encode(png), "text/plain"
    return png, "image/png"
