"""Build the bodies of accepted requests from a job, the way the real service words them.

Field names, spellings and tips follow the captures in MODELSLAB-FACTS §3-§5: a success echoes
the effective parameters in ``meta`` (``W``, ``H``, ``steps``, ``n_samples``, a concrete
``seed``); a processing body promises the final URLs in ``future_links`` and names the same id
in ``fetch_result``.

The families of the image API (an operation's ``x-mock-behaviour`` ``family``) differ in shape,
and ``SHAPES`` says how, as data: the realtime API's success has no ``webhook_status`` and no
``tip``, its processing body no ``webhook_status``, and its ``meta`` is the newer echo (``width``,
``height``, no ``model_id``, §3.4). A family not listed (community, v7, a spec's own) has the
community shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.state.jobs import Job

__all__ = ["FAILED_MESSAGE", "SHAPES", "Shape", "build_meta", "failed_body", "fetch_url", "job_body", "output_urls",
           "processing_body", "shape_of", "success_body"]

PROCESSING_TIP = (
    "Your image is processing in background, you can get this image using fetch API: "
    "here is link for fetch api : https://docs.modelslab.com/image-generation/community-models/dreambooth-fetch-queue-image"
)
PROCESSING_MESSAGE = "Try to fetch request after seconds estimated"
FAILED_MESSAGE = "Failed, Try Again"

_FLAG_DEFAULTS = {"full_url": "no", "upscale": "no", "multi_lingual": "no", "panorama": "no",
                  "self_attention": "no", "tomesd": "yes", "temp": "no", "base64": "no",
                  "instant_response": "no", "safety_checker_type": "sensitive_content_text"}
_REALTIME_FLAGS = {"safety_checker": "no", "safety_checker_type": "sensitive_content_text", "instant_response": "no",
                   "base64": "no", "temp": "no"}
_IMAGE_ECHO = ("init_image", "mask_image", "strength")


@dataclass(frozen=True)
class Shape:
    """How one family words its bodies."""

    meta: str = "community"  # community: W/H/steps/model_id...; realtime: width/height, no model
    success_extras: tuple[str, ...] = ("webhook_status", "tip")  # beyond status/generationTime/id/output/...
    processing_extras: tuple[str, ...] = ("webhook_status",)


COMMUNITY = Shape()
#: The families whose bodies differ from the community ones (MODELSLAB-FACTS §11.1, the realtime spec).
SHAPES: dict[str, Shape] = {
    "realtime": Shape(meta="realtime", success_extras=(), processing_extras=()),
}


def shape_of(family: str | None) -> Shape:
    return SHAPES.get(family or "", COMMUNITY)


def build_meta(params: dict[str, Any], seed: int, file_prefix: str, family: str | None = None,
               images: bool = True) -> dict[str, Any]:
    """The echo of what the service used: request values with defaults filled in. ``images``:
    whether the endpoint takes input images (text2img's meta has no ``init_image``/``strength``)."""
    if shape_of(family).meta == "realtime":
        return _realtime_meta(params, seed, file_prefix, images)
    meta: dict[str, Any] = {
        "prompt": params.get("prompt", ""),
        "model_id": params.get("model_id"),
        "negative_prompt": params.get("negative_prompt"),
        "scheduler": params.get("scheduler"),
        "safety_checker": params.get("safety_checker"),
        "W": params.get("width"),
        "H": params.get("height"),
        "guidance_scale": params.get("guidance_scale"),
    }
    if images:
        meta.update({name: params.get(name) for name in _IMAGE_ECHO})
    meta.update({
        "steps": params.get("steps"),
        "n_samples": params.get("samples"),
        "seed": seed,
        "clip_skip": params.get("clip_skip"),
        "use_karras_sigmas": params.get("use_karras_sigmas"),
        "algorithm_type": params.get("algorithm_type"),
        "embeddings": params.get("embeddings_model"),
        "lora": params.get("lora_model"),
        "lora_strength": params.get("lora_strength"),
        "vae": params.get("vae"),
        "webhook": params.get("webhook"),
        "track_id": params.get("track_id"),
        "outdir": "out",
        "file_prefix": file_prefix,
    })
    for flag, default in _FLAG_DEFAULTS.items():
        meta[flag] = params.get(flag, default)
    return meta


def _realtime_meta(params: dict[str, Any], seed: int, file_prefix: str, images: bool) -> dict[str, Any]:
    """The realtime echo (a captured realtime success, §3.4): width/height, no model; guidance 0 (turbo)."""
    meta: dict[str, Any] = {
        "prompt": params.get("prompt", ""),
        "negative_prompt": params.get("negative_prompt"),
        "width": params.get("width"),
        "height": params.get("height"),
        "n_samples": params.get("samples"),
        "seed": seed,
        "guidance_scale": params.get("guidance_scale", 0),
    }
    if images:
        meta.update({name: params.get(name) for name in _IMAGE_ECHO})
    for flag, default in _REALTIME_FLAGS.items():
        meta[flag] = params.get(flag, default)
    meta.update({"webhook": params.get("webhook"), "track_id": params.get("track_id"), "outdir": "out",
                 "file_prefix": file_prefix})
    return meta


def output_urls(job: Job, base_url: str) -> list[str]:
    return [f"{base_url}/generations/{name}" for name in job.output_names()]


def success_body(job: Job, base_url: str) -> dict[str, Any]:
    urls = output_urls(job, base_url)
    body: dict[str, Any] = {
        "status": "success",
        "generationTime": job.generation_time,
        "id": job.id,
        "output": urls,
        "proxy_links": list(urls),
        "nsfw_content_detected": job.nsfw,
    }
    extras = shape_of(job.family).success_extras
    if "webhook_status" in extras:
        body["webhook_status"] = job.webhook_status
    if "tip" in extras:
        body["tip"] = ""
    body["meta"] = job.meta
    return body


def fetch_url(job: Job, base_url: str, api_base: str) -> str:
    """Where a queued job is fetched: the fetch operation its generate operation names."""
    return f"{base_url}{job.fetch_path}" if job.fetch_path else f"{base_url}{api_base}/fetch/{job.id}"


def processing_body(job: Job, base_url: str, api_base: str, now: float, messege: bool = False) -> dict[str, Any]:
    """``messege``: the legacy spelling of ``message`` some endpoints send (error-codes page)."""
    body: dict[str, Any] = {
        "status": "processing",
        "tip": PROCESSING_TIP,
        "eta": float(job.remaining(now)),
        "messege" if messege else "message": PROCESSING_MESSAGE,
    }
    if "webhook_status" in shape_of(job.family).processing_extras:
        body["webhook_status"] = job.webhook_status
    body.update({
        "fetch_result": fetch_url(job, base_url, api_base),
        "id": job.id,
        "output": [],
        "meta": job.meta,
        "future_links": output_urls(job, base_url),
    })
    return body


def failed_body(job: Job, at_once: bool = False) -> dict[str, Any]:
    """A failed job. ``at_once``: the answer to the generation call itself, in the documented form
    (MODELSLAB-FACTS §6.1: ``{"status":"failed","id":"","message":"Failed, Try Again","output":""}``);
    otherwise what fetch and webhooks say about a queued job that failed (its id, no output)."""
    if at_once:
        return {"status": "failed", "id": "", "message": FAILED_MESSAGE, "output": ""}
    body: dict[str, Any] = {"status": "failed", "id": job.id, "message": FAILED_MESSAGE, "output": ""}
    if job.webhook:
        body["webhook_status"] = job.webhook_status
    return body


def job_body(job: Job, base_url: str, api_base: str, now: float, messege: bool = False,
             at_once: bool = False) -> dict[str, Any]:
    """The body that describes a job at ``now``: processing, failed or success. ``at_once``: the
    answer to the request that made it (a failure then has the documented at-once form)."""
    status = job.status(now)
    if status == "processing":
        return processing_body(job, base_url, api_base, now, messege=messege)
    if status == "failed":
        return failed_body(job, at_once=at_once)
    return success_body(job, base_url)
