"""Small HTTP helpers shared by the API views, the admin API and the image routes."""

from __future__ import annotations

from typing import Any

import json

import orjson

__all__ = ["dumps", "json_response"]


def dumps(body: Any) -> bytes:
    """orjson for speed; the standard library for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """JSON the way the real service sends it (key order kept, no spaces), as a Flask response."""
    from flask import Response  # here: the WSGI adapter sends JSON without Flask

    return Response(dumps(body), status=status, headers=headers, mimetype="application/json")
