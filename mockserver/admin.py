"""The admin API under ``/__mock/``: health, reset and the clock tests move.

It is the mock's own control surface, kept apart from the API it imitates so that nothing here
can be mistaken for ModelsLab behaviour. Later layers (scenarios, the journal, webhooks) add
their endpoints to this blueprint.
"""

from __future__ import annotations

import math

from flask import Blueprint, Response, request

from mockserver.http import json_response
from mockserver.state import MockState

__all__ = ["admin_blueprint"]


def _json_object() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def admin_blueprint(state: MockState) -> Blueprint:
    bp = Blueprint("mock_admin", __name__, url_prefix="/__mock")

    @bp.get("/health")
    def health() -> Response:
        return json_response({"status": "ok", "seed": state.engine.rng.seed, "strict": state.config.strict})

    @bp.post("/reset")
    def reset() -> Response:
        """Forget every job, put the clock back and restart the RNG from its seed."""
        state.store.reset()
        state.engine.rng.reseed()
        return json_response({"status": "ok"})

    @bp.get("/clock")
    def clock() -> Response:
        return json_response({"now": state.engine.clock.now(), "offset": state.store.clock_offset()})

    @bp.post("/clock")
    def move_clock() -> Response:
        """``{"advance": seconds}`` moves the mock's time forward, so queued jobs finish at once."""
        data = _json_object()
        advance = data.get("advance") if data else None
        if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not math.isfinite(advance) or advance < 0:
            return json_response({"status": "error", "message": 'send {"advance": seconds >= 0}'}, 400)
        offset = state.engine.clock.advance(float(advance))
        return json_response({"now": state.engine.clock.now(), "offset": offset})

    return bp
