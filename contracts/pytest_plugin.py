"""pytest plugin for contract tests of your client (loaded with ``modelslab_mock``; fixtures only).

``contract_target``  where contract tests point: the live ``mock_server`` by default;
                     ``--contract-target`` (or ``@pytest.mark.contract_target("...")`` on one test)
                     chooses ``inprocess`` (``mock_app``, no socket), a URL, or ``real``
                     (MODELSLAB_API_KEY, a session-wide call budget from ``--contract-budget``,
                     skipped with the reason without a key).
``contract_checker`` ``contracts.modelslab.checks.ContractChecker`` for that target:
                     ``contract_checker.assert_ok(contract_target.post("/inpaint", body))``.

``--contracts-profile dev|ci|real-api`` loads a Hypothesis profile of ``contracts.run.profiles``
(with ``--contracts-example-db`` for a shared example database such as Redis); that needs the
``contracts`` extra (``pip install 'modelslab-mock[contracts]'``).

Nothing here runs for a test that does not ask for these fixtures, except two report hooks: a
spent real-API budget turns a test into a skip, and registered secrets (the real key) are masked
in every failure text. This module imports neither ``mockserver`` nor Flask: the mock fixtures
are asked for by name.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

__all__: list[str] = []

_REDACTOR: "pytest.StashKey[Any]" = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("modelslab-mock", "ModelsLab mock and contract targets")
    group.addoption("--contract-target", default="mock",
                    help="where contract_target points: mock (the live mock_server, default), inprocess "
                         "(mock_app, no socket), real (https://modelslab.com, MODELSLAB_API_KEY), or a URL")
    group.addoption("--contract-budget", type=int, default=None,
                    help="hard cap on real-API calls for the whole session (default 5)")
    group.addoption("--contracts-profile", default=None, choices=("dev", "ci", "real-api"),
                    help="load a Hypothesis profile of contracts.run.profiles (needs the contracts extra)")
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
        from contracts.core.extras import require

        require("hypothesis", "--contracts-profile")
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
        # the mock's root: the target serves the spec under its own server path (/api for the family)
        target = Target.for_url(request.getfixturevalue("mock_server").root_url, admin_token=token)
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
