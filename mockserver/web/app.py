"""The Flask app factory: routes from the spec, the pipeline behind them, JSON for every error.

Routes are not written per endpoint: every operation in the spec becomes a URL rule under the
spec's relative server path, served by one view that hands the request to the engine. Flask's
own HTML error pages never reach a client: 404, 405, 413 and any bug become JSON. The API's
POST routes are answered by the WSGI fast path (mockserver/web/fastpath.py) in front of Flask.

Flask is imported only when a Flask app is built: ``serving_app`` (used by ``mockserver run``)
answers the API from the fast path at once and builds the Flask app for the rest (admin API,
output files, error pages) on first need or in the background, which keeps the cold start short.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from contracts.core.spec import load_document
from mockserver.config import MockConfig
from mockserver.web.fastpath import FastPath, host_url
from mockserver.engine.pipeline import Engine, Incoming
from mockserver.web.responses import header_value, to_http
from mockserver.web.context import EXTENSION, MockState, mock_state
from mockserver.state.store import Store, StoreUnavailable
from mockserver.state.stores import open_store
from mockserver.engine.validation import LazyOpenAPI

__all__ = ["LazyWSGI", "MockState", "build_state", "create_app", "flask_app", "mock_state", "serving_app"]

log = logging.getLogger("mockserver")


_header_value = header_value  # kept for callers of the old private names


def _make_view(state: MockState, operation: str):
    from flask import request

    def view(**path_params: str):
        base_url = state.config.public_url or host_url(request.environ)
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


def _register_error_pages(app: Any) -> None:
    from flask import request
    from werkzeug.exceptions import HTTPException

    from mockserver.web.http import json_response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        headers = {}
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 413:
            body = {"status": "error", "message": "Invalid API Request", "tip": "The request body is too large."}
        else:
            body = {"status": "error", "message": exc.name, "code": exc.code}
        return json_response(body, exc.code or 500, headers)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        log.warning("%s (%s %s)", exc, request.method, request.path)
        return json_response({"status": "error", "message": str(exc)}, 503, {"Retry-After": "1"})

    @app.errorhandler(Exception)
    def mock_bug(exc: Exception):
        log.exception("mock bug while answering %s %s", request.method, request.path)
        return json_response({"status": "error", "message": "mock bug: internal error", "kind": type(exc).__name__}, 500)


def build_state(config: MockConfig | None = None, store: Store | None = None) -> MockState:
    """Load the spec once, compile validators, open the store: everything but the web framework."""
    config = config or MockConfig()
    document = load_document(config.spec)
    openapi = LazyOpenAPI(config.spec)  # openapi-core loads on first need: a fast cold start
    store = store if store is not None else open_store(config.store, config)
    return MockState(config, Engine(config, store, document, openapi), store)


def flask_app(state: MockState, fast_path: bool = True) -> Any:
    """The Flask app for a state: the spec's routes, the admin API, output files, JSON error pages."""
    from flask import Flask

    from mockserver.web.admin import admin_blueprint
    from mockserver.web.generations import generations_blueprint

    config, engine = state.config, state.engine
    app = Flask("mockserver")
    app.url_map.merge_slashes = False  # "//" would be an HTML 308 redirect page, not JSON
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions[EXTENSION] = state
    for op_id, op in engine.operations.items():
        app.add_url_rule(op.flask_rule(engine.base_path), endpoint=op_id,  # a trailing slash is accepted
                         view_func=_make_view(state, op_id), methods=[op.method], strict_slashes=False)
    app.register_blueprint(admin_blueprint(state))
    app.register_blueprint(generations_blueprint(state))
    _register_error_pages(app)
    if fast_path:
        # The API's POST routes skip Flask's per-request machinery (same answers, half the CPU).
        app.wsgi_app = FastPath(engine, app.wsgi_app, config.public_url, config.max_body_bytes)  # type: ignore[method-assign]
    return app


def create_app(config: MockConfig | None = None, store: Store | None = None) -> Any:
    """Build the mock as a Flask app (``mock_state(app)`` gives its config, engine and store)."""
    return flask_app(build_state(config, store))


class LazyWSGI:
    """A WSGI app built on its first request (or by ``load``, e.g. from a warm-up thread)."""

    def __init__(self, build: Callable[[], Callable]):
        self._build = build
        self._app: Callable | None = None
        self._lock = threading.Lock()

    def load(self) -> Callable:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app

    def __call__(self, environ: dict[str, Any], start_response: Callable):
        return self.load()(environ, start_response)


def serving_app(state: MockState) -> FastPath:
    """What ``mockserver run`` serves: the fast path now, Flask behind it (a ``LazyWSGI``,
    ``.fallback``) when first needed."""
    lazy = LazyWSGI(lambda: flask_app(state, fast_path=False).wsgi_app)
    config = state.config
    return FastPath(state.engine, lazy, config.public_url, config.max_body_bytes)
