"""Small HTTP helpers shared by the API views, the admin API and the image routes."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

__all__ = ["json_response"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON the way the real service sends it (key order kept, no spaces)."""
    return Response(orjson.dumps(body), status=status, headers=headers, mimetype="application/json")
