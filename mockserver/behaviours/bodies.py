"""Build the bodies of accepted requests from a job, the way the real service words them.

Field names, spellings and tips follow the captures in MODELSLAB-FACTS §3-§5: a success echoes
the effective parameters in ``meta`` (``W``, ``H``, ``steps``, ``n_samples``, a concrete
``seed``); a processing body promises the final URLs in ``future_links`` and names the same id
in ``fetch_result``.
"""

from __future__ import annotations

from typing import Any

from mockserver.state.jobs import Job

__all__ = ["build_meta", "failed_body", "fetch_url", "output_urls", "processing_body", "success_body"]

PROCESSING_TIP = (
    "Your image is processing in background, you can get this image using fetch API: "
    "here is link for fetch api : https://docs.modelslab.com/image-generation/community-models/dreambooth-fetch-queue-image"
)
PROCESSING_MESSAGE = "Try to fetch request after seconds estimated"

_FLAG_DEFAULTS = {"full_url": "no", "upscale": "no", "multi_lingual": "no", "panorama": "no",
                  "self_attention": "no", "tomesd": "yes", "temp": "no", "base64": "no",
                  "instant_response": "no", "safety_checker_type": "sensitive_content_text"}


def build_meta(params: dict[str, Any], seed: int, file_prefix: str) -> dict[str, Any]:
    """The echo of what the service used: request values with defaults filled in."""
    meta: dict[str, Any] = {
        "prompt": params.get("prompt", ""),
        "model_id": params.get("model_id"),
        "negative_prompt": params.get("negative_prompt"),
        "scheduler": params.get("scheduler"),
        "safety_checker": params.get("safety_checker"),
        "W": params.get("width"),
        "H": params.get("height"),
        "guidance_scale": params.get("guidance_scale"),
        "strength": params.get("strength"),
        "init_image": params.get("init_image"),
        "mask_image": params.get("mask_image"),
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
    }
    for flag, default in _FLAG_DEFAULTS.items():
        meta[flag] = params.get(flag, default)
    return meta


def output_urls(job: Job, base_url: str) -> list[str]:
    return [f"{base_url}/generations/{name}" for name in job.output_names()]


def success_body(job: Job, base_url: str) -> dict[str, Any]:
    urls = output_urls(job, base_url)
    return {
        "status": "success",
        "generationTime": job.generation_time,
        "id": job.id,
        "output": urls,
        "proxy_links": list(urls),
        "nsfw_content_detected": job.nsfw,
        "webhook_status": job.webhook_status,
        "tip": "",
        "meta": job.meta,
    }


def fetch_url(job: Job, base_url: str, api_base: str) -> str:
    """Where a queued job is fetched: the fetch operation its generate operation names."""
    return f"{base_url}{job.fetch_path}" if job.fetch_path else f"{base_url}{api_base}/fetch/{job.id}"


def processing_body(job: Job, base_url: str, api_base: str, now: float) -> dict[str, Any]:
    return {
        "status": "processing",
        "tip": PROCESSING_TIP,
        "eta": float(job.remaining(now)),
        "message": PROCESSING_MESSAGE,
        "webhook_status": job.webhook_status,
        "fetch_result": fetch_url(job, base_url, api_base),
        "id": job.id,
        "output": [],
        "meta": job.meta,
        "future_links": output_urls(job, base_url),
    }


def failed_body(job: Job) -> dict[str, Any]:
    return {
        "status": "failed",
        "id": job.id,
        "message": "Failed, Try Again",
        "output": [],
        "webhook_status": job.webhook_status,
        "tip": "",
    }
