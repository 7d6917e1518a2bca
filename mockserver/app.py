"""The Flask app factory: routes from the spec, the pipeline behind them, JSON for every error.

Routes are not written per endpoint: every operation in the spec becomes a URL rule under the
spec's relative server path, served by one view that hands the request to the engine. Flask's
own HTML error pages never reach a client: 404, 405, 413 and any bug become JSON.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from contracts.spec import load_document
from mockserver.admin import admin_blueprint
from mockserver.config import MockConfig
from mockserver.fastpath import FastPath
from mockserver.generations import generations_blueprint
from mockserver.http import json_response
from mockserver.pipeline import Engine, Incoming, Outcome
from mockserver.responses import header_value, to_http
from mockserver.state import EXTENSION, MockState, mock_state
from mockserver.store import Store
from mockserver.stores import open_store
from mockserver.validation import LazyOpenAPI

__all__ = ["MockState", "create_app", "mock_state"]

log = logging.getLogger("mockserver")


_header_value = header_value  # kept for callers of the old private names


def _to_http(outcome: Outcome) -> Response:
    return to_http(outcome, request.environ)


def _make_view(state: MockState, operation: str):
    def view(**path_params: str) -> Response:
        base_url = state.config.public_url or request.host_url.rstrip("/")
        incoming = Incoming(
            operation=operation,
            body=request.get_data(cache=False),
            content_type=request.content_type,
            base_url=base_url,
            prefer=request.headers.get("Prefer"),
            path_params=path_params,
            method=request.method,
            path=request.full_path.rstrip("?"),
            headers=dict(request.headers),
        )
        return to_http(state.engine.handle(incoming), request.environ)

    view.__name__ = f"api_{operation}"
    return view


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        headers = {}
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 413:
            body = {"status": "error", "message": "Invalid API Request", "tip": "The request body is too large."}
        else:
            body = {"status": "error", "message": exc.name, "code": exc.code}
        return json_response(body, exc.code or 500, headers)

    @app.errorhandler(Exception)
    def mock_bug(exc: Exception) -> Response:
        log.exception("mock bug while answering %s %s", request.method, request.path)
        return json_response({"status": "error", "message": "mock bug: internal error", "kind": type(exc).__name__}, 500)


def create_app(config: MockConfig | None = None, store: Store | None = None) -> Flask:
    """Build the mock: load the spec once, compile validators, register the spec's routes."""
    config = config or MockConfig()
    document = load_document(config.spec)
    openapi = LazyOpenAPI(config.spec)  # openapi-core loads on first need: a fast cold start
    store = store if store is not None else open_store(config.store, config)
    engine = Engine(config, store, document, openapi)

    app = Flask("mockserver")
    app.url_map.merge_slashes = False  # "//" would be an HTML 308 redirect page, not JSON
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    state = MockState(config, engine, store)
    app.extensions[EXTENSION] = state
    for op_id, op in engine.operations.items():
        app.add_url_rule(op.flask_rule(engine.base_path), endpoint=op_id,
                         view_func=_make_view(state, op_id), methods=[op.method])
    app.register_blueprint(admin_blueprint(state))
    app.register_blueprint(generations_blueprint(state))
    _register_error_pages(app)
    # The API's POST routes skip Flask's per-request machinery (same answers, a third of the CPU).
    app.wsgi_app = FastPath(engine, app.wsgi_app, config.public_url, config.max_body_bytes)  # type: ignore[method-assign]
    return app
