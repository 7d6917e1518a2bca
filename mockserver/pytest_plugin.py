"""pytest plugin (entry point ``modelslab_mock``): a mock and contract targets for your tests.

Installing the package makes these fixtures available in any test suite:

``mock_server``      a live mock on a free loopback port for the whole session, reset before
                     every test that uses it (pytest-httpserver's pattern); ``.url`` is the API
                     base to give your client, ``.admin`` the ``/__mock`` client. A mock bug
                     (an exception inside the mock) fails the test that caused it.
``mock_app``         a fresh in-process Flask app per test (no socket).
``mock_config``      the ``MockConfig`` both are built from; override it in your conftest.py.
``contract_target``  where contract tests point: the live mock by default; ``--contract-target``
                     (or ``@pytest.mark.contract_target("...")`` on one test) chooses ``inprocess``,
                     a URL, or ``real`` (MODELSLAB_API_KEY, a session-wide call budget from
                     ``--contract-budget``, skipped with the reason without a key).
``contract_checker`` ``contracts.modelslab.checks.ContractChecker`` for that target:
                     ``contract_checker.assert_ok(contract_target.post("/inpaint", body))``.

Assertion helpers live on ``mock_server`` (and on ``contract_target.admin`` for any mock):
``assert_requests(count, operation=..., key=..., track_id=...)``, ``count_requests(...)`` and
``wait_for_webhook(track_id, timeout=...)``; they read the mock's request journal and webhook log.

``--contracts-profile dev|ci|real-api`` loads a Hypothesis profile of ``contracts.run.profiles``
(with ``--contracts-example-db`` for a shared example database such as Redis).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Iterator

import pytest

__all__ = ["MockServer", "MockServerError"]

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


# -- options ----------------------------------------------------------------------------------------

_REDACTOR: "pytest.StashKey[Any]" = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelslab-mock", "ModelsLab mock and contract targets")
    group.addoption("--contract-target", default="mock",
                    help="where contract_target points: mock (the live mock_server, default), inprocess "
                         "(mock_app, no socket), real (https://modelslab.com, MODELSLAB_API_KEY), or a URL")
    group.addoption("--contract-budget", type=int, default=None,
                    help="hard cap on real-API calls for the whole session (default 5)")
    group.addoption("--mock-seed", type=int, default=None, help=f"seed of the mock fixtures (default {_SEED_DEFAULT})")
    group.addoption("--contracts-profile", default=None, choices=("dev", "ci", "real-api"),
                    help="load a Hypothesis profile of contracts.run.profiles")
    group.addoption("--contracts-example-db", default=None,
                    help="Hypothesis example database for those profiles (none, memory, DIR, redis://...)")


def pytest_configure(config: pytest.Config) -> None:
    from contracts.core.redact import Redactor

    # One redactor for the session: keys registered by its targets are masked in its reports and
    # never outlive it (a second session in the same process starts clean).
    config.stash[_REDACTOR] = Redactor().__enter__()
    config.addinivalue_line("markers", "contract_target(name): this test's contract_target (mock, inprocess, "
                                       "real or a URL), whatever --contract-target says")
    name = config.getoption("--contracts-profile", default=None)
    if name:
        from contracts.run.profiles import load_profile

        load_profile(name, config.getoption("--contracts-example-db", default=None))


def pytest_unconfigure(config: pytest.Config) -> None:
    redactor = config.stash.get(_REDACTOR, None)
    if redactor is not None:
        redactor.__exit__(None, None, None)
        del config.stash[_REDACTOR]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """A spent real-API budget skips the test (with the budget line); registered keys never show."""
    outcome = yield
    report = outcome.get_result()
    from contracts.run.budget import BudgetSpent
    from contracts.core.redact import mask_registered

    if call.excinfo is not None and call.excinfo.errisinstance(BudgetSpent) and report.when == "call":
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {call.excinfo.value}")
    elif report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        masked = mask_registered(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, mask_registered(content)) for title, content in report.sections]


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mock_config(request: pytest.FixtureRequest) -> Any:
    """Settings of ``mock_server`` and ``mock_app``: seeded, in-memory, nothing queued unless asked.

    Override in a conftest.py, e.g. ``return MockConfig(store="memory", seed=7, strict=True)``.
    """
    from mockserver import MockConfig

    seed = request.config.getoption("--mock-seed", default=None)
    return MockConfig(seed=_SEED_DEFAULT if seed is None else seed, store="memory", processing_ratio=0.0)


@pytest.fixture(scope="session")
def mock_server(mock_config: Any) -> Iterator[MockServer]:
    """A live mock for the session; reset before each test that uses it."""
    server = MockServer(mock_config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _modelslab_mock_per_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reset the session mock before a test that uses it; fail the test if the mock broke."""
    if "mock_server" not in request.fixturenames:
        yield
        return
    server: MockServer = request.getfixturevalue("mock_server")
    server.reset()
    yield
    server.check()


@pytest.fixture
def mock_app(mock_config: Any) -> Any:
    """A fresh in-process mock (Flask app) per test: ``mock_app.test_client()``."""
    from mockserver import create_app

    return create_app(dataclasses.replace(mock_config))


@pytest.fixture(scope="session")
def _contract_session_targets() -> dict[str, Any]:
    """Targets that must live as long as the session (the real API's one call budget)."""
    return {}


@pytest.fixture
def contract_target(request: pytest.FixtureRequest, _contract_session_targets: dict[str, Any]) -> Iterator[Any]:
    """The target contract tests talk to (see ``--contract-target``); real-API tests skip without a key."""
    from contracts.run.budget import DEFAULT_REAL_BUDGET, announce_uncaptured
    from contracts.run.targets import Target

    marker = request.node.get_closest_marker("contract_target")
    choice = marker.args[0] if marker and marker.args else request.config.getoption("--contract-target", default="mock")
    choice = choice or "mock"
    if choice == "real":
        target = _contract_session_targets.get("real")
        if target is None:
            budget = request.config.getoption("--contract-budget", default=None) or DEFAULT_REAL_BUDGET
            target = _contract_session_targets["real"] = Target.real(budget=budget)
            target.budget.announce = announce_uncaptured(request.config)
        if target.skip_reason:
            pytest.skip(target.skip_reason)
        yield target
        return
    token = getattr(request.getfixturevalue("mock_config"), "admin_token", None)
    if choice == "mock":
        target = Target.for_url(request.getfixturevalue("mock_server").url, admin_token=token)
    elif choice == "inprocess":
        target = Target.for_wsgi(request.getfixturevalue("mock_app"), admin_token=token)
    else:
        target = Target.for_url(choice)
    try:
        yield target
    finally:
        target.close()


@pytest.fixture
def contract_checker(contract_target: Any) -> Any:
    """Semantic checks for exchanges with ``contract_target`` (remembers jobs within the test)."""
    from contracts.modelslab.checks import ContractChecker

    return ContractChecker.for_target(contract_target)
