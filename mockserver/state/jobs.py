"""A generation job: one integer id from the first answer through fetch, images and webhooks.

A job is created by every accepted generation (inpaint, text2img, ...) (a success is a job that is ready at once), so
output URLs, fetch and webhooks all read the same record. Its state is derived from the clock,
never stored: ``processing`` until ``ready_at``, then its ``outcome``.

A job keeps at most ``MAX_JOB_BYTES`` besides the init/mask images it renders from (those are
bounded by ``image_max_bytes`` when the request is checked): ``capped`` cuts every text to
``MAX_JOB_TEXT`` characters, keeping the head and marking the cut, before a job is stored.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mockserver.state.budget import cut_text, fit

__all__ = ["Job", "MAX_JOB_BYTES", "MAX_JOB_TEXT"]

#: Characters of any one text a job keeps (a prompt, a track_id, a webhook URL, an echo in meta).
MAX_JOB_TEXT = 64 * 1024
#: Bytes of JSON a job keeps besides the init/mask images it renders from.
MAX_JOB_BYTES = 1024 * 1024
_MAX_REFERENCE = 8192  # an image reference that is neither a data URI nor base64 (a URL: longer is refused)
_IMAGE_DATA = re.compile(r"(?:data:|[A-Za-z0-9+/=_\-\s]{64})", re.I)


@dataclass
class Job:
    """Everything needed to answer for a generation later, as plain data (stores serialise it)."""

    id: int
    owner: str
    created_at: float
    ready_at: float
    outcome: str  # "success" | "failed"
    file_prefix: str
    samples: int
    width: int
    height: int
    seed: int
    generation_time: float
    meta: dict[str, Any]
    ext: str = "png"
    nsfw: bool = False
    webhook: str | None = None
    track_id: str | None = None
    webhook_status: str = ""
    render: dict[str, Any] = field(default_factory=dict)
    #: Jobs are fetched only by the fetch operations of the family that made them.
    family: str = "community"
    #: The path (under the server's base, without scheme and host) a queued job is fetched at;
    #: "" for jobs stored before it was recorded (then ``/fetch/<id>`` under the base path).
    fetch_path: str = ""

    def status(self, now: float) -> str:
        return "processing" if now < self.ready_at else self.outcome

    def remaining(self, now: float) -> float:
        return max(0.0, self.ready_at - now)

    def output_names(self) -> list[str]:
        return [f"{self.file_prefix}-{i}.{self.ext}" for i in range(self.samples)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def capped(self) -> "Job":
        """This job within ``MAX_JOB_BYTES`` (itself when it already is): texts cut to their head
        and ``...(+N chars)``; the images it renders from are kept whole (a URL or anything else
        that is not image data can be no longer than 8 KiB to be used at all, so it is cut too)."""
        meta = fit(self.meta, MAX_JOB_BYTES // 2, MAX_JOB_TEXT)
        render = dict(self.render)
        changed = meta is not self.meta
        for name, value in self.render.items():
            if not isinstance(value, str):
                continue
            image_data = name in ("init_image", "mask_image") and _IMAGE_DATA.match(value[:64]) is not None
            limit = None if image_data else (_MAX_REFERENCE if name in ("init_image", "mask_image") else MAX_JOB_TEXT)
            if limit is not None and len(value) > limit:
                render[name] = cut_text(value, limit)
                changed = True
        if meta is not self.meta and render.get("prompt") is self.meta.get("prompt") and "prompt" in meta:
            render["prompt"] = meta["prompt"]  # painted from what fetch shows
        texts = {name: getattr(self, name) for name in ("webhook", "track_id")}
        for name, value in texts.items():
            if isinstance(value, str) and len(value) > MAX_JOB_TEXT:
                texts[name] = cut_text(value, MAX_JOB_TEXT)  # a cut URL has a space: never called
                changed = True
        if not changed:
            return self
        return replace(self, meta=meta, render=render, **texts)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        return cls(**data)
