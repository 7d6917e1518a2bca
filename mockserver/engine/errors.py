"""The real service's error bodies, word for word, and the HTTP codes ``--http-errors`` maps them to.

ModelsLab answers errors with HTTP 200 and ``status: "error"`` (MODELSLAB-FACTS §6); clients
that expect status codes can opt into a mapping. Every error the mock sends is built here, so
the wording stays the real service's and the mapping stays in one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "HTTP_STATUS", "field_errors", "invalid_api_key", "invalid_request",
           "job_not_found", "model_not_found", "named_error", "queue_limit", "rate_limited", "server_error",
           "unable_to_fetch_image", "ERROR_NAMES"]

_JSON_TIP = (
    "1. Make sure you are passing Content-Type: application/json in header. "
    "2. Make sure you are doing POST request with valid JSON. "
    "3. Make sure your JSON does not have error, use jsonlint to validate json array"
)
_KEY_TIP = _JSON_TIP + ". 4. Make sure you have valid API key."
_RATE_TIPS = (
    "you are sending same request multiple times, spam filter is enabled, "
    "please wait for 30 seconds and try again"
)

#: What each kind of error becomes under ``--http-errors`` (the real service sends 200).
HTTP_STATUS = {
    "invalid_request": 400,
    "invalid_api_key": 401,
    "model_not_found": 404,
    "job_not_found": 404,
    "validation": 422,
    "rate_limit": 429,
    "unable_to_fetch_image": 422,
    "server": 500,
    "no_episode": 404,
}


@dataclass(frozen=True)
class ApiError:
    """An error answer: its kind (for the status mapping) and the body the real service sends."""

    kind: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def status(self, http_errors: bool) -> int:
        return HTTP_STATUS[self.kind] if http_errors else 200


def invalid_request() -> ApiError:
    return ApiError("invalid_request", {"status": "error", "message": "Invalid API Request", "tip": _JSON_TIP})


def invalid_api_key() -> ApiError:
    return ApiError("invalid_api_key", {"status": "error", "message": "Invalid Api Key", "tip": _KEY_TIP})


def model_not_found() -> ApiError:
    return ApiError("model_not_found", {"status": "error", "message": "Model id not found"})


def rate_limited() -> ApiError:
    return ApiError(
        "rate_limit",
        {"status": "error", "message": "Rate limit exceeded", "tips": _RATE_TIPS},
        {"Retry-After": "30"},
    )


def queue_limit(limit: int = 5, retry_after: int = 30, reset_at: int | None = None) -> ApiError:
    """Too many queued jobs for one key (rate-limits and error-codes pages: "Maximum 5 queued requests
    allowed.", ``retry_after`` 30). Under ``--http-errors`` a 429 with ``Retry-After`` and
    ``X-RateLimit-Reset`` (Unix seconds when a slot frees; the official CLI sleeps until then)."""
    import time

    reset = reset_at if reset_at is not None else int(time.time()) + retry_after
    return ApiError(
        "rate_limit",
        {"status": "error", "message": f"Rate limit exceeded. Maximum {limit} queued requests allowed.",
         "retry_after": retry_after},
        {"Retry-After": str(retry_after), "X-RateLimit-Reset": str(reset)},
    )


def server_error() -> ApiError:
    return ApiError("server", {"status": "error", "message": "Internal server error. Please try again."})


def job_not_found(job_id: str) -> ApiError:
    # No capture of the real answer exists (MODELSLAB-FACTS §5); this follows the error shape.
    return ApiError("job_not_found", {"status": "error", "message": f"Request not found: {job_id}"})


def unable_to_fetch_image(field_name: str, message: str = "Unable to fetch image from provided URL") -> ApiError:
    """An init/mask image that is not an image, cannot be read, or is too large (DOCS2 wording)."""
    return ApiError("unable_to_fetch_image", {"status": "error", "message": message, "field": field_name})


def no_episode() -> ApiError:
    """``--replay`` with ``--on-miss error``: no recorded episode matches the request."""
    return ApiError("no_episode", {"status": "error", "message": "No recorded episode matches this request",
                                   "tip": "record it with mockserver record, or run with --on-miss generate"})


def field_errors(messages: dict[str, list[str]]) -> ApiError:
    """Laravel-style validation failure: one entry per field, each a list of sentences."""
    return ApiError("validation", {"status": "error", "message": messages})


#: Errors a client may ask for by name (``Prefer: variant=error, error=NAME``, scenario rules).
ERROR_NAMES = {
    "rate_limit": rate_limited,
    "queue_limit": queue_limit,
    "invalid_api_key": invalid_api_key,
    "invalid_request": invalid_request,
    "model_not_found": model_not_found,
    "server": server_error,
}


def named_error(name: str) -> ApiError:
    try:
        return ERROR_NAMES[name]()
    except KeyError:
        raise ValueError(f"unknown error {name!r}; expected one of {sorted(ERROR_NAMES)}") from None
