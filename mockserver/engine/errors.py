"""Every error body the mock sends, built in one place.

ModelsLab's own (the real service's bodies, word for word, and the HTTP codes ``--http-errors``
maps them to): ModelsLab answers errors with HTTP 200 and ``status: "error"`` (MODELSLAB-FACTS
§6); clients that expect status codes can opt into a mapping.

The web layer's (no route: 404, a method the route does not have: 405, a body over the limit:
413, a client gone mid-body: 400, a mock bug: 500), the same for every spec.

The generic behaviour's, for specs without ModelsLab behaviours: Prism's problem bodies
(``application/problem+json``: ``type``, ``title``, ``status``, ``detail`` and, for invalid
requests, ``validation``, one entry per error naming where it is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "HTTP_STATUS", "field_errors", "invalid_api_key", "invalid_request",
           "job_not_found", "model_not_found", "named_error", "queue_limit", "rate_limited", "server_error",
           "unable_to_fetch_image", "ERROR_NAMES", "PROBLEM_JSON", "client_gone", "http_error", "mock_bug",
           "problem", "store_unavailable", "too_large", "validation_problem", "AFTER", "BEFORE", "FAULTS", "gateway_page"]

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


# -- the faults' (a gateway in front of the service; mockserver/control/faults.py decides when) ---------

#: Fault name -> HTTP status of the gateway page (None: not a gateway page).
BEFORE = {"rate_limit": None, "outage": 503, "bad_gateway": 502, "gateway_timeout": 504, "cloudflare_timeout": 524}
AFTER = ("reset", "truncated")
FAULTS = tuple(BEFORE) + AFTER

_NGINX_TITLES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}
_CLOUDFLARE = (
    '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n'
    '<html class="no-js" lang="en-US">\n<head>\n<title>modelslab.com | 524: A timeout occurred</title>\n'
    '<meta charset="UTF-8" />\n<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
    '<meta name="robots" content="noindex, nofollow" />\n</head>\n<body>\n<div id="cf-wrapper">\n'
    '<div id="cf-error-details" class="cf-error-details-wrapper">\n<header>\n'
    '<h1><span class="inline-block">A timeout occurred</span>\n'
    '<span class="code-label">Error code 524</span></h1>\n</header>\n'
    '<div class="clearfix"><h2>What happened?</h2>\n'
    '<p>The origin web server timed out responding to this request.</p></div>\n'
    '<div class="cf-error-footer"><p>Cloudflare Ray ID: <strong>8d3f0c0a1b2c3d4e</strong> &bull; '
    'Performance &amp; security by Cloudflare</p></div>\n</div>\n</div>\n</body>\n</html>\n'
)


def gateway_page(fault: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, HTML body, headers) a gateway sends for an outage-type fault."""
    status = BEFORE[fault]
    if status is None:
        raise ValueError(f"{fault!r} is not a gateway fault")
    if status == 524:
        return status, _CLOUDFLARE.encode(), {"Server": "cloudflare", "Content-Type": "text/html; charset=UTF-8"}
    title = _NGINX_TITLES[status]
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return status, body.encode(), {"Server": "nginx", "Content-Type": "text/html"}


# -- the web layer's, for every spec -----------------------------------------------------------------

_HTTP_NAMES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
               500: "Internal Server Error"}


def http_error(code: int, name: str | None = None) -> dict[str, Any]:
    """An HTTP error with no more to say (no route: 404; the route lacks the method: 405)."""
    return {"status": "error", "message": name or _HTTP_NAMES.get(code, "Error"), "code": code}


def too_large(modelslab: bool = True) -> dict[str, Any]:
    """A body over ``max_body_bytes`` (413), unread: ModelsLab's wording on its routes."""
    if modelslab:
        return {"status": "error", "message": "Invalid API Request", "tip": "The request body is too large."}
    return problem(413, "Request body too large", "The request body is larger than the mock accepts (max_body_bytes).")


def client_gone(modelslab: bool = True) -> dict[str, Any]:
    """The client hung up while sending the body (400, the connection closed)."""
    if modelslab:
        return invalid_request().body
    return problem(400, "Incomplete request", "The client stopped sending the request body.")


def store_unavailable(reason: str) -> dict[str, Any]:
    """The state store cannot be reached (503, ``Retry-After: 1``): the reason, never a mock bug."""
    return {"status": "error", "message": reason}


def mock_bug(kind: str) -> dict[str, Any]:
    """A bug in the mock (500): never blamed on the client."""
    return {"status": "error", "message": "mock bug: internal error", "kind": kind}


# -- the generic behaviour's (Prism-style problem bodies) ----------------------------------------------

#: The media type of a problem body (RFC 9457), as Prism sends it.
PROBLEM_JSON = "application/problem+json"
_PROBLEM_TYPES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE",
                  415: "UNSUPPORTED_MEDIA_TYPE", 422: "UNPROCESSABLE_ENTITY"}


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    kind = _PROBLEM_TYPES.get(status, "ERROR")
    return {"type": f"https://stoplight.io/prism/errors#{kind}", "title": title, "status": status,
            "detail": detail, **extra}


def validation_problem(errors: list[dict[str, Any]], status: int = 422) -> dict[str, Any]:
    """An invalid request: ``errors`` are ``{"location": ["body", "name"], "code": ..., "message": ...}``."""
    return problem(status, "Invalid request", "Your request is not valid: each entry of validation says where and why.",
                   validation=[{"location": e["location"], "severity": "Error", "code": e.get("code", "invalid"),
                                "message": e["message"]} for e in errors])
