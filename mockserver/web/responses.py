"""Turn an engine ``Outcome`` into HTTP (status, headers, bytes), faults included.

JSON bodies are sent the way the real service sends them; bytes (gateway pages, output files)
as they are. The faults that happen on the way back are done here because only the HTTP layer
holds the connection: ``truncated`` cuts the body in half (with a matching Content-Length, so
the client reads invalid JSON rather than a broken transfer) and ``reset`` drops the connection
with nothing sent (``faults.abort_connection``), or, where the server's socket is out of reach
(the Flask test client), falls back to a truncated body. ``encode`` is used by the WSGI adapter
(mockserver/web/adapter.py) and ``to_http`` (a Flask response, for output files).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import orjson

from mockserver.control import faults
from mockserver.web import access_log
from mockserver.web.http import dumps
from mockserver.engine.context import Outcome

__all__ = ["encode", "header_value", "to_http"]

_UNSAFE_HEADER_CHARS = re.compile(r"[^\x20-\x7e]")


def header_value(items: list[str], limit: int = 2000) -> str:
    """Warnings quote client input: keep them to one printable line so they cannot split headers."""
    text = "; ".join(items)
    if text.isascii() and text.isprintable():
        pass  # the common case: nothing to replace
    else:
        text = _UNSAFE_HEADER_CHARS.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode(outcome: Outcome, environ: Mapping[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with Content-Type unless the body is empty, body bytes); Content-Length is not added."""
    if environ is not None:
        access_log.note(environ, outcome)  # what the console line says about this answer
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
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return outcome.status, headers, b""  # nobody will read it
        headers["Content-Type"] = headers.pop("Content-Type", "application/json")
        return outcome.status, headers, faults.truncate(data)
    if isinstance(outcome.body, bytes):
        if outcome.body or "Content-Type" in headers:  # an empty body (a 204) has no media type
            headers["Content-Type"] = headers.pop("Content-Type", "application/octet-stream")
        return outcome.status, headers, outcome.body
    headers["Content-Type"] = headers.pop("Content-Type", "application/json")  # problem+json keeps its own
    return outcome.status, headers, dumps(outcome.body)


def to_http(outcome: Outcome, environ: Mapping[str, Any] | None = None):
    """The outcome as a Flask response."""
    from flask import Response

    status, headers, data = encode(outcome, environ)
    media = headers.pop("Content-Type", None)
    return Response(data, status=status, headers=headers, content_type=media)
