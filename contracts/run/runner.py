"""``contracts run``: start or find the target, run the packaged suite with pytest, report.

The suite is ordinary pytest code (``contracts/run/suite``), run in an isolated pytest session:
the user's own pytest configuration and plugins (including this project's ``modelslab_mock``
plugin) stay out of it, the target and its checker come from ``SuitePlugin``, and reports are
pytest's (terminal, ``--junit-xml``) plus an optional redacted cassette.

Redaction happens in the sinks' common path: every test report's failure text and captured
output pass through the run's ``Redactor`` (``contracts.core.redact``) before pytest's terminal or
JUnit writers see them, and written files are scanned once more at the end. The run's key is
registered with it, so it is masked wherever it appears, not only in ``"key": ...`` pairs.

A run keeps no state in modules: its target, schema and settings travel in a ``SuiteRun`` held
by the ``SuitePlugin`` it passes to ``pytest.main`` (the suite reads them through fixtures and
``pytest_generate_tests``), and its secrets in its own ``Redactor``; two runs in one process
share nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from contracts.run.budget import DEFAULT_REAL_BUDGET, announce_uncaptured
from contracts.run.cassette import Cassette, RecordingTransport
from contracts.modelslab.checks import ContractChecker
from contracts.core.redact import Redactor
from contracts.run.targets import Target, TargetError, default_test_key

__all__ = ["RunOptions", "SuitePlugin", "SuiteRun", "run", "suite_of", "target_from_spec"]

SUITE_DIR = Path(__file__).resolve().parent / "suite"
#: Exit status of a run that tested nothing (every test skipped) without ``allow_skip``.
NOTHING_TESTED = 5
#: Mock settings for ``--target mock``: strict (so invalid input must be rejected), and enough
#: queued and failed jobs that fetch, links and the failed variant are exercised.
MOCK_ARGS = ("--store", "memory", "--processing-ratio", "0.4", "--failed-ratio", "0.1")


@dataclass
class RunOptions:
    target: str = "mock"
    junit_xml: str | None = None
    cassette: str | None = None
    seed: int = 0
    max_examples: int | None = None
    stateful_steps: int = 8
    budget: int = DEFAULT_REAL_BUDGET
    key: str | None = None
    profile: str | None = None
    example_db: str | None = None
    keyword: str | None = None
    verbose: bool = False
    compat_mock: bool = False
    admin_token: str | None = None
    allow_skip: bool = False  # a run where every test is skipped passes (else exit status NOTHING_TESTED)
    spec: str | None = None  # the spec to test against (a name in openapi/ or a path; default the Pony spec)
    pytest_args: list[str] = field(default_factory=list)


def _wsgi_app(spec: str) -> Any:
    """``wsgi:package.module:attr`` (``attr()`` calls a factory)."""
    _, _, rest = spec.partition(":")
    module_name, _, attr = rest.partition(":")
    if not module_name or not attr:
        raise TargetError(f"{spec!r}: write wsgi:package.module:attribute (or :factory())")
    call = attr.endswith("()")
    obj: Any = importlib.import_module(module_name)
    for part in attr.removesuffix("()").split("."):
        obj = getattr(obj, part)
    return obj() if call else obj


@contextlib.contextmanager
def target_from_spec(options: RunOptions) -> Iterator[Target]:
    """The target a ``--target`` value names; a ``mock`` is started and stopped around the run."""
    where = options.target.strip()
    api = _checked_spec(options.spec)
    if where == "mock":
        from contracts.run.mock_process import MockProcess

        extra = list(MOCK_ARGS) + (["--spec", api] if api else [])
        with MockProcess(seed=options.seed, strict=not options.compat_mock, extra_args=extra) as mock:
            target = Target.for_url(mock.url, key=options.key or default_test_key(), name="mock", spec=api)
            target.description = f"{target.description} [started: {' '.join(mock.command[1:])}]"
            yield target
        return
    if where == "real":
        yield Target.real(key=options.key, budget=options.budget, spec=api)
        return
    if where.startswith("wsgi:"):
        yield Target.for_wsgi(_wsgi_app(where), key=options.key, spec=api)
        return
    target = Target.for_url(where, key=options.key, admin_token=options.admin_token, spec=api)
    if not target.is_mock:
        target.probe()
    yield target


def _checked_spec(spec: str | None) -> str | None:
    """The spec as an absolute path (a name in openapi/ or a file), or a ``TargetError`` naming the
    problem in one line: missing, not YAML/JSON, not an OpenAPI document."""
    if not spec:
        return None
    from contracts.core.spec import load_document, spec_path

    path = spec_path(spec)
    if not path.is_file():
        raise TargetError(f"spec {spec!r} not found (neither a file nor a name in openapi/)")
    try:
        document = load_document(str(path))
    except Exception as exc:  # yaml errors, unreadable files: one line, no traceback
        raise TargetError(f"spec {path} cannot be read: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict) or "openapi" not in document:
        raise TargetError(f"spec {path} is not an OpenAPI document (no 'openapi' and 'paths')")
    return str(path)


def _redact_report(report: Any, redactor: Redactor) -> None:
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        report.longrepr = redactor.text(str(report.longrepr))
    elif isinstance(report.longrepr, tuple):  # skip reports: (path, line, reason)
        path, line, reason = report.longrepr
        report.longrepr = (path, line, redactor.text(str(reason)))
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]
    if hasattr(report, "user_properties"):
        report.user_properties = [(name, redactor.text(str(value))) for name, value in report.user_properties]


@dataclass
class SuiteRun:
    """What the suite is collected for: the target, its Schemathesis schema and the run's settings."""

    target: Any
    schema: Any
    spec: str | None = None  # None: the Pony spec
    max_examples: int = 25
    stateful_steps: int = 8
    settings: dict[str, Any] = field(default_factory=dict)


class SuitePlugin:
    """Fixtures and report hooks of a contract run (passed to ``pytest.main(plugins=...)``)."""

    def __init__(self, target: Target, options: RunOptions, suite: SuiteRun | None = None,
                 redactor: Redactor | None = None):
        self.target = target
        self.options = options
        self.suite = suite or SuiteRun(target=target, schema=None)
        self.redactor = redactor or Redactor()
        self.checker = ContractChecker.for_target(target)
        self.outcomes: dict[str, int] = {}  # passed / failed / skipped reports of the run

    @property
    def nothing_tested(self) -> bool:
        """Every test was skipped: a run that checked nothing."""
        return bool(self.outcomes.get("skipped")) and not self.outcomes.get("passed") \
            and not self.outcomes.get("failed")

    @pytest.fixture(scope="session")
    def contract_target(self) -> Target:
        return self.target

    @pytest.fixture(scope="session")
    def contract_checker(self) -> ContractChecker:
        return self.checker

    @pytest.fixture(scope="session")
    def contract_run(self) -> SuiteRun:
        return self.suite

    def pytest_configure(self, config: Any) -> None:
        if self.target.budget is not None:
            self.target.budget.announce = announce_uncaptured(config)

    def pytest_report_header(self, config: Any) -> list[str]:
        lines = [f"contracts target: {self.target.name} -> {self.target.description}"]
        if self.target.skip_reason:
            lines.append(f"contracts: every test is skipped: {self.target.skip_reason}")
        return lines

    def pytest_collection_modifyitems(self, session: Any, config: Any, items: list[Any]) -> None:
        for item in items:
            item.user_properties.append(("contract_target", self.target.name))
            if self.target.skip_reason:
                item.add_marker(pytest.mark.skip(reason=self.target.skip_reason))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" and report.failed and call.excinfo is not None and not self.options.verbose:
            from contracts.run.failures import failure_text

            text = failure_text(call.excinfo.value)  # each failure once, with its reproduction
            if text is not None:
                report.longrepr = text
        _redact_report(report, self.redactor)

    @pytest.hookimpl(trylast=True)
    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        """Schemathesis's plugin rewrites a failed test's report here, after ours: say it our way
        again (each failure once), and redact whatever it wrote."""
        if report.when == "call" and report.failed and call.excinfo is not None and not self.options.verbose:
            from contracts.run.failures import failure_text

            text = failure_text(call.excinfo.value)
            if text is not None:
                report.longrepr = text
        _redact_report(report, self.redactor)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.outcome] = self.outcomes.get(report.outcome, 0) + 1

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collectreport(self, report: Any) -> Iterator[None]:
        _redact_report(report, self.redactor)
        yield

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.target.budget is not None:
            terminalreporter.write_line(self.target.budget.summary())
        if self.options.cassette:
            terminalreporter.write_line(f"cassette (redacted): {self.options.cassette}")
        if self.options.junit_xml:
            terminalreporter.write_line(f"JUnit report (redacted): {self.options.junit_xml}")


def suite_of(config: Any) -> SuiteRun | None:
    """The run a pytest session was started for by ``contracts run`` (None in any other session)."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, SuitePlugin):
            return plugin.suite
    return None


def _pytest_args(options: RunOptions) -> list[str]:
    args = [str(SUITE_DIR / "test_contract.py"), "-c", os.devnull, "--rootdir", str(SUITE_DIR),
            "-p", "no:cacheprovider", "-p", "no:modelslab_mock", "-p", "no:randomly",
            "-o", "junit_family=xunit2", "-o", "junit_logging=system-err",
            "-o", "junit_suite_name=contracts", "-rsfE", "-W", "ignore::DeprecationWarning",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            # On CI (CI or BUILD_NUMBER set) pytest's summary line repeats a failure's whole report:
            # each failure would be printed twice. One line per failed test, as everywhere else.
            "--force-short-summary"]
    args += ["-v", "--tb=long"] if options.verbose else ["-q", "--tb=short"]
    if options.junit_xml:
        args += ["--junit-xml", options.junit_xml]
    if options.keyword:
        args += ["-k", options.keyword]
    if options.seed is not None:
        args += [f"--hypothesis-seed={options.seed}"]
    return args + list(options.pytest_args)


def run(options: RunOptions) -> int:
    """Run the suite against ``options.target``; returns pytest's exit code (0 = passed)."""
    with Redactor() as redactor, _hypothesis_restored():  # nothing of the run outlives it
        return _run(options, redactor)


@contextlib.contextmanager
def _hypothesis_restored() -> Iterator[None]:
    """A run loads a Hypothesis profile and points its storage at the cache folder; both are
    Hypothesis's process-wide settings, so they are put back when the run ends."""
    import hypothesis.configuration as configuration
    from hypothesis import settings

    profile = settings.get_current_profile_name()
    home = getattr(configuration, "__hypothesis_home_directory", None)  # no public getter
    try:
        yield
    finally:
        settings.load_profile(profile)
        configuration.set_hypothesis_home_dir(home)


def _run(options: RunOptions, redactor: Redactor) -> int:
    from contracts.run.profiles import load_profile, use_cache_home
    from contracts.run.schemathesis_bridge import load_schema

    use_cache_home()  # Hypothesis writes nothing into the folder the run was started from
    profile = load_profile(options.profile or ("real-api" if options.target == "real" else None),
                           options.example_db)
    redactor.register(options.key)
    cassette = Cassette(redactor) if options.cassette else None
    with target_from_spec(options) as target:
        redactor.register(target.key)
        if cassette is not None:
            target.transport = RecordingTransport(target.transport, cassette)
            target.extra["recorder"] = cassette
        from hypothesis import settings

        max_examples = options.max_examples or settings.get_profile(profile).max_examples
        schema = load_schema(target, max_examples=max_examples, spec=target.spec_name)
        suite = SuiteRun(target=target, schema=schema, spec=target.spec_name, max_examples=max_examples,
                         stateful_steps=options.stateful_steps)
        target.reset()
        print(f"contracts run: target {target.name} -> {target.description}", flush=True)
        if target.skip_reason:
            print(f"contracts run: every test is skipped: {target.skip_reason}", flush=True)
        plugin = SuitePlugin(target, options, suite, redactor)
        try:
            code = pytest.main(_pytest_args(options), plugins=[plugin])
            if code == 0 and plugin.nothing_tested and not options.allow_skip:
                print(f"contracts run: nothing was tested (every test was skipped), so this run fails with exit "
                      f"status {NOTHING_TESTED}; add --allow-skip where that is expected (e.g. CI without the key)",
                      flush=True)
                code = NOTHING_TESTED
        finally:
            sys.modules.pop("contracts.run.suite.test_contract", None)
            target.close()
    if cassette is not None and options.cassette:
        cassette.write(options.cassette)
    if options.junit_xml and Path(options.junit_xml).is_file():
        path = Path(options.junit_xml)
        path.write_text(redactor.mask(path.read_text(encoding="utf-8")), encoding="utf-8")
    return int(code)
