"""pytest plugin (entry point ``modelslab_mock``): a mock for your tests. Fixtures only: nothing
runs for a test that does not ask for them.

``mock_server``          a live mock on a free loopback port, shared by the session and reset before
                         each test that asks for it (pytest-httpserver's pattern); ``.url`` is the
                         API base to give your client, ``.admin`` the ``/__mock`` client. A mock bug
                         (an exception inside the mock) fails the test that caused it.
``mock_server_session``  the same server without the per-test reset, for session- or module-scoped
                         fixtures of your own.
``mock_app``             a fresh in-process Flask app per test (no socket).
``mock_config``          the ``MockConfig`` both are built from; override it in your conftest.py.

Assertion helpers live on ``mock_server`` (and on ``contract_target.admin`` for any mock):
``assert_requests(count, operation=..., key=..., track_id=...)``, ``count_requests(...)`` and
``wait_for_webhook(track_id, timeout=...)``; they read the mock's request journal and webhook log.

The contract fixtures (``contract_target``, ``contract_checker``) live in ``contracts.pytest_plugin``,
loaded with this one.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Iterator

import pytest

__all__ = ["MockServer", "MockServerError"]

#: The contract fixtures come with the mock's (one entry point, two plugin modules).
pytest_plugins = ("contracts.pytest_plugin",)

_SEED_DEFAULT = 1234


class MockServerError(AssertionError):
    """The mock itself failed while answering (a bug in the mock, not in the code under test)."""


class _ErrorCollector(logging.Handler):
    """Collects the mock's own error logs (``log.exception`` of a mock bug)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class MockServer:
    """A mock in a background thread on ``127.0.0.1:<free port>``."""

    def __init__(self, config: Any):
        from werkzeug.serving import make_server

        from contracts.run.mock_admin import MockAdmin
        from contracts.core.transport import RequestsTransport
        from mockserver import create_app

        self.config = config
        self.app = create_app(config)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.root_url}/api/v6/images"
        self.admin = MockAdmin(self.root_url, RequestsTransport(), token=getattr(config, "admin_token", None))
        self._errors = _ErrorCollector()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="modelslab-mock", daemon=True)

    def start(self) -> "MockServer":
        logging.getLogger("mockserver").addHandler(self._errors)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        logging.getLogger("mockserver").removeHandler(self._errors)

    # -- per test ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget jobs, journal, rules, webhooks and clock offsets (the RNG restarts from its seed)."""
        self.admin.reset()
        self._errors.records.clear()

    def check(self) -> None:
        """Raise ``MockServerError`` if the mock failed internally since the last reset."""
        records, self._errors.records = list(self._errors.records), []
        if records:
            from contracts.core.redact import redact_text

            text = "\n".join(redact_text(self._errors.format(r) if r.exc_info else r.getMessage()) for r in records)
            raise MockServerError(f"the mock failed while answering ({len(records)} error(s)):\n{text}")

    # -- conveniences (all through the admin API) ------------------------------------------------

    def advance_clock(self, seconds: float, key: str | None = None) -> dict[str, Any]:
        return self.admin.advance_clock(seconds, key)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.requests(**filters)

    def count_requests(self, **filters: Any) -> int:
        return self.admin.count_requests(**filters)

    def assert_requests(self, count: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return self.admin.assert_requests(count, **kwargs)

    def wait_for_webhook(self, track_id: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return self.admin.wait_for_webhook(track_id, **kwargs)


# -- options and fixtures ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelslab-mock", "ModelsLab mock and contract targets")
    group.addoption("--mock-seed", type=int, default=None, help=f"seed of the mock fixtures (default {_SEED_DEFAULT})")


@pytest.fixture(scope="session")
def mock_config(request: pytest.FixtureRequest) -> Any:
    """Settings of ``mock_server`` and ``mock_app``: seeded, in-memory, nothing queued unless asked.

    Override in a conftest.py, e.g. ``return MockConfig(store="memory", seed=7, strict=True)``.
    """
    from mockserver import MockConfig

    seed = request.config.getoption("--mock-seed", default=None)
    return MockConfig(seed=_SEED_DEFAULT if seed is None else seed, store="memory", processing_ratio=0.0)


@pytest.fixture(scope="session")
def mock_server_session(mock_config: Any) -> Iterator[MockServer]:
    """A live mock for the whole session, never reset by the plugin."""
    server = MockServer(mock_config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mock_server(mock_server_session: MockServer) -> Iterator[MockServer]:
    """The session's live mock, reset before this test; the test fails if the mock broke during it."""
    mock_server_session.reset()
    yield mock_server_session
    mock_server_session.check()


@pytest.fixture
def mock_app(mock_config: Any) -> Any:
    """A fresh in-process mock (Flask app) per test: ``mock_app.test_client()``."""
    from mockserver import create_app

    return create_app(dataclasses.replace(mock_config))
