"""The admin API under ``/__mock/``: health, reset and the clock tests move.

It is the mock's own control surface, kept apart from the API it imitates so that nothing here
can be mistaken for ModelsLab behaviour. Later layers (scenarios, the journal, webhooks) add
their endpoints to this blueprint.
"""

from __future__ import annotations

import math

from flask import Blueprint, Response, request

from mockserver.http import json_response
from mockserver.pipeline import owner_of
from mockserver.state import MockState

__all__ = ["admin_blueprint"]


def _json_object() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _namespace(data: dict | None) -> str:
    """The namespace a call is about: ``{"key": ...}`` in the body or ``?key=``; "" for everyone."""
    key = (data or {}).get("key") or request.args.get("key")
    return owner_of(key) if isinstance(key, str) and key else ""


def admin_blueprint(state: MockState) -> Blueprint:
    bp = Blueprint("mock_admin", __name__, url_prefix="/__mock")

    @bp.get("/health")
    def health() -> Response:
        return json_response({"status": "ok", "seed": state.engine.rng.seed, "strict": state.config.strict})

    @bp.post("/reset")
    def reset() -> Response:
        """Forget everything (and restart the RNG from its seed), or one key's state with ``{"key"}``."""
        owner = _namespace(_json_object())
        if owner:
            state.store.reset(owner)
        else:
            state.store.reset()
            state.engine.rng.reseed()
        return json_response({"status": "ok", "scope": "key" if owner else "all"})

    @bp.get("/clock")
    def clock() -> Response:
        owner = _namespace(None)
        return json_response({"now": state.engine.clock.now(owner), "offset": state.store.clock_offset(owner)})

    @bp.post("/clock")
    def move_clock() -> Response:
        """``{"advance": seconds}`` (optionally ``"key"``) moves time forward so queued jobs finish."""
        data = _json_object()
        advance = data.get("advance") if data else None
        if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not math.isfinite(advance) or advance < 0:
            return json_response({"status": "error", "message": 'send {"advance": seconds >= 0}'}, 400)
        owner = _namespace(data)
        offset = state.engine.clock.advance(float(advance), owner)
        return json_response({"now": state.engine.clock.now(owner), "offset": offset})

    return bp
