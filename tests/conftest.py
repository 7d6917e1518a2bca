"""Fixtures shared by the project's own tests: an in-process app per config, and a live one."""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from contracts.core.redact import Redactor
from contracts.core.spec import docs_example_bytes
from mockserver import MockConfig, create_app

VALID_BODY: dict[str, Any] = {
    "key": "test-key",
    "model_id": "pony-realism",
    "prompt": "a cat sitting on a bench",
    "init_image": "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png",
    "mask_image": "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo_mask.png",
    "width": 512,
    "height": 512,
    "samples": 1,
}

INPAINT = "/api/v6/images/inpaint"

# Property tests assert behaviour, never speed: no per-example deadline and no "too slow" health
# check, which fail on a loaded machine (CI runners, several suites at once) and on nothing else.
settings.register_profile("project-tests", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project-tests")


@pytest.fixture(autouse=True)
def _own_secrets() -> Iterator[Redactor]:
    """Each test is its own run for redaction: secrets it registers end with it."""
    with Redactor() as redactor:
        yield redactor


@pytest.fixture
def valid_body() -> dict[str, Any]:
    """A strictly valid inpaint body (a fresh copy per test)."""
    return json.loads(json.dumps(VALID_BODY))


@pytest.fixture
def docs_example() -> bytes:
    """The documentation page's example body, byte for byte."""
    return docs_example_bytes()


@pytest.fixture
def make_app() -> Callable[..., Any]:
    """Build an in-process mock with config overrides: ``make_app(strict=True, seed=3)``."""

    def factory(**overrides: Any):
        overrides.setdefault("seed", 1234)
        overrides.setdefault("store", "memory")  # fast and isolated; store tests open their own
        return create_app(MockConfig(**overrides))

    return factory


@pytest.fixture
def app(make_app):
    """The mock with default settings except: nothing is queued or failed unless a test asks."""
    return make_app(processing_ratio=0.0)


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """A mock on a free loopback port, in a thread, for tests that need a real socket."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(make_app) -> Callable[..., LiveServer]:
    """``with live_server(strict=True) as server: requests.post(server.url + ...)``."""
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        server = LiveServer(make_app(**overrides)).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
