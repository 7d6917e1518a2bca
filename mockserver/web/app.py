"""The app factory: the WSGI adapter for every spec route, Flask behind it for the rest.

Routes are not written per endpoint: every operation of the spec is a route of the one WSGI
adapter (mockserver/web/adapter.py), which hands the request to the engine. Flask serves what is
the mock's own: the admin API under ``/__mock/``, the output files under ``/generations/``, and
JSON error pages (Flask's own HTML pages never reach a client: 404, 405, 413 and any bug become
JSON, built by mockserver/engine/errors.py).

Flask is imported only when a Flask app is built: ``serving_app`` (used by ``mockserver run``)
answers the spec's routes from the adapter at once and builds the Flask app for the rest on first
need or in the background, which keeps the cold start short.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from mockserver.config import MockConfig
from mockserver.engine import errors
from mockserver.state.store import Store, StoreUnavailable
from mockserver.web.adapter import Adapter
from mockserver.web.context import EXTENSION, MockState, build_state, mock_state
from mockserver.web.responses import header_value

__all__ = ["LazyWSGI", "MockState", "build_state", "create_app", "flask_app", "mock_state", "serving_app"]

log = logging.getLogger("mockserver")

_header_value = header_value  # kept for callers of the old private names


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
            body = errors.too_large()
        else:
            body = errors.http_error(exc.code or 500, exc.name)
        return json_response(body, exc.code or 500, headers)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        log.warning("%s (%s %s)", exc, request.method, request.path)
        return json_response(errors.store_unavailable(str(exc)), 503, {"Retry-After": "1"})

    @app.errorhandler(Exception)
    def mock_bug(exc: Exception):
        log.exception("mock bug while answering %s %s", request.method, request.path)
        return json_response(errors.mock_bug(type(exc).__name__), 500)


def flask_app(state: MockState, adapter: bool = True) -> Any:
    """The Flask app for a state: the admin API, output files and JSON error pages, with the
    spec's routes answered by the adapter in front (``adapter=False``: Flask alone, for serving
    behind an adapter that already exists)."""
    from flask import Flask

    from mockserver.web.admin import admin_blueprint
    from mockserver.web.generations import generations_blueprint

    app = Flask("mockserver")
    app.url_map.merge_slashes = False  # "//" would be an HTML 308 redirect page, not JSON
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = state.config.max_body_bytes
    app.extensions[EXTENSION] = state
    app.register_blueprint(admin_blueprint(state))
    app.register_blueprint(generations_blueprint(state))
    _register_error_pages(app)
    if adapter:
        app.wsgi_app = Adapter(state, app.wsgi_app)  # type: ignore[method-assign]
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


def serving_app(state: MockState) -> Adapter:
    """What ``mockserver run`` serves: the adapter now, Flask behind it (a ``LazyWSGI``,
    ``.fallback``) when first needed."""
    return Adapter(state, LazyWSGI(lambda: flask_app(state, adapter=False).wsgi_app))
