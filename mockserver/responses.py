"""Turn an engine ``Outcome`` into a Flask response, faults included.

JSON bodies are sent the way the real service sends them; bytes (gateway pages, output files)
as they are. The faults that happen on the way back are done here because only the HTTP layer
holds the connection: ``truncated`` cuts the body in half (with a matching Content-Length, so
the client reads invalid JSON rather than a broken transfer) and ``reset`` drops the connection
with nothing sent (``faults.abort_connection``), or, where the server's socket is out of reach
(the Flask test client), falls back to a truncated body.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import orjson
from flask import Response

from mockserver import faults
from mockserver.http import json_response
from mockserver.pipeline import Outcome

__all__ = ["header_value", "to_http"]

_UNSAFE_HEADER_CHARS = re.compile(r"[^\x20-\x7e]")


def header_value(items: list[str], limit: int = 2000) -> str:
    """Warnings quote client input: keep them to one printable line so they cannot split headers."""
    text = "; ".join(items)
    text = _UNSAFE_HEADER_CHARS.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_http(outcome: Outcome, environ: Mapping[str, Any] | None = None) -> Response:
    headers = dict(outcome.headers)
    headers["X-Mock-Variant"] = outcome.variant
    if outcome.warnings:
        headers["X-Mock-Warnings"] = header_value(outcome.warnings)
    if outcome.fault:
        headers["X-Mock-Fault"] = outcome.fault
    if outcome.rule:
        headers["X-Mock-Rule"] = header_value([outcome.rule], 200)
    if outcome.fault in faults.AFTER:
        data = outcome.body if isinstance(outcome.body, bytes) else orjson.dumps(outcome.body)
        if outcome.fault == "reset" and environ is not None and faults.abort_connection(environ):
            return Response(b"", status=outcome.status, headers=headers)  # nobody will read it
        media = headers.pop("Content-Type", "application/json")
        return Response(faults.truncate(data), status=outcome.status, headers=headers, mimetype=None,
                        content_type=media)
    if isinstance(outcome.body, bytes):
        media = headers.pop("Content-Type", "application/octet-stream")
        return Response(outcome.body, status=outcome.status, headers=headers, content_type=media)
    return json_response(outcome.body, outcome.status, headers)
