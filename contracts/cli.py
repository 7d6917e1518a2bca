"""``contracts``: run the contract suite against a target, or lint a spec.

``contracts run --target mock --junit-xml out.xml``   property, stateful and scenario tests
``contracts run --target http://127.0.0.1:4010``      a running mock (or any server)
``contracts run --target real``                       the real API, positive-only, budgeted
``contracts run --spec openapi/modelslab.yaml``        every generate/fetch operation of another spec
``contracts lint openapi/upstream-pony-inpaint.yaml``  examples vs their schemas
``contracts drift CASSETTE``                          recorded real answers vs the spec and the mock

Exit codes: 0 passed, 1 failures or contradictions, 2 usage errors, 5 nothing tested (every test
skipped, e.g. ``--target real`` without a key; ``--allow-skip`` makes that 0), other values are
pytest's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from contracts.run.budget import DEFAULT_REAL_BUDGET

__all__ = ["build_parser", "main"]


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("modelslab-mock")
    except PackageNotFoundError:  # pragma: no cover - a source tree without an install
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    """Unknown flags are reported by the subcommand that got them, with its usage and a suggestion."""

    def unknown(self, extra: list[str]) -> None:
        import difflib

        known = [o for action in self._actions for o in action.option_strings]
        hints = [f"{w.split('=', 1)[0]} -> {close[0]}?" for w in extra if w.startswith("-")
                 for close in [difflib.get_close_matches(w.split("=", 1)[0], known, n=1)] if close]
        hint = f" (did you mean: {', '.join(hints)})" if hints else ""
        self.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="contracts", description="Contract tests for the ModelsLab inpaint API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the contract suite against a target",
                         description="Run the packaged contract suite (Schemathesis property tests, a stateful "
                                     "inpaint->fetch run, job scenarios) against a target.")
    run.add_argument("--target", default="mock",
                     help="mock (start a strict mock on a free port; default), real (https://modelslab.com with "
                          "MODELSLAB_API_KEY, budgeted), a URL (e.g. http://127.0.0.1:4010), or "
                          "wsgi:module:attr for an in-process WSGI app (attr() calls a factory)")
    run.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report (key redacted)")
    run.add_argument("--cassette", metavar="PATH", help="record every exchange to a VCR-style YAML (key redacted)")
    run.add_argument("--seed", type=int, default=0, help="seed for the mock and for Hypothesis (default 0)")
    run.add_argument("--max-examples", type=int, help="examples per property test (default: the profile's)")
    run.add_argument("--stateful-steps", type=int, default=8, help="steps per stateful scenario (default 8)")
    run.add_argument("--budget", type=int, default=DEFAULT_REAL_BUDGET,
                     help=f"hard cap on real-API calls (default {DEFAULT_REAL_BUDGET})")
    run.add_argument("--key", help="API key to send (default: MODELSLAB_API_KEY for real, a fresh test key else)")
    run.add_argument("--profile", choices=("dev", "ci", "real-api"),
                     help="Hypothesis profile (default: CONTRACTS_PROFILE, ci on CI, real-api for real, else dev)")
    run.add_argument("--example-db", metavar="SPEC",
                     help="Hypothesis example database: none, memory, DIR, redis://host:port/db, "
                          "readonly:SPEC, or A+B (also CONTRACTS_EXAMPLE_DB)")
    run.add_argument("--compat-mock", action="store_true",
                     help="with --target mock: start the mock in compat mode (then invalid-but-coercible input "
                          "is accepted by design, and MLC108 only checks that valid input is not rejected)")
    run.add_argument("--spec", metavar="FILE",
                     help="the OpenAPI spec to test against (a path, or a name in openapi/; default the Pony "
                          "inpaint spec). Its x-mock-behaviour operations get the ModelsLab checks; a spec "
                          "without them gets Schemathesis's generic checks only")
    run.add_argument("--admin-token", help="admin token of a URL target mock started with one "
                                           "(default: MOCKSERVER_ADMIN_TOKEN)")
    run.add_argument("--allow-skip", action="store_true",
                     help="exit 0 when every test is skipped (e.g. --target real without a key); otherwise such "
                          "a run, which tested nothing, exits 5")
    run.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per test")

    lint = sub.add_parser("lint", help="check every example of a spec against its schema",
                          description="Report each example (and default) that contradicts its schema, with JSON "
                                      "pointers. For a spec with POST /inpaint the docs' example body is included.")
    lint.add_argument("spec", help="OpenAPI file (a path, or a name in openapi/)")
    lint.add_argument("--example", action="append", default=[], metavar="FILE[:OPERATION]",
                      help="also check this JSON file against an operation's request body (default /inpaint)")
    lint.add_argument("--no-docs-example", action="store_true", help="do not include the docs' example bodies of the spec's endpoints")
    lint.add_argument("--cassette", action="append", default=[], metavar="DIR",
                      help="also check the requests a recording (mockserver record) saw accepted")
    lint.add_argument("--format", choices=("text", "json"), default="text")
    from contracts.run.drift_command import add_parser as add_drift_parser

    add_drift_parser(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from contracts.core.extras import MissingExtra, require

    try:
        for module in ("pytest", "hypothesis", "schemathesis"):
            require(module, "contracts run")
    except MissingExtra as exc:
        print(f"contracts run: {exc}", file=sys.stderr)
        return 2
    from contracts.run.mock_process import MockStartError
    from contracts.run.runner import RunOptions, run
    from contracts.run.targets import TargetError

    options = RunOptions(target=args.target, junit_xml=args.junit_xml, cassette=args.cassette, seed=args.seed,
                         max_examples=args.max_examples, stateful_steps=args.stateful_steps, budget=args.budget,
                         key=args.key, profile=args.profile, example_db=args.example_db, keyword=args.keyword,
                         verbose=args.verbose, compat_mock=args.compat_mock, admin_token=args.admin_token,
                         allow_skip=args.allow_skip, spec=args.spec)
    try:
        return run(options)
    except (TargetError, MockStartError, ValueError) as exc:
        print(f"contracts run: {exc}", file=sys.stderr)
        return 2


def _lint(args: argparse.Namespace) -> int:
    from contracts.core.lint import lint_spec

    try:
        report = lint_spec(args.spec, args.example, docs_example=False if args.no_docs_example else None,
                           cassettes=args.cassette)
    except (OSError, ValueError) as exc:
        print(f"contracts lint: {exc}", file=sys.stderr)
        return 2
    print(report.to_json() if args.format == "json" else report.text())
    return 0 if report.ok else 1


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices.get(getattr(args, "command", None), parser).unknown(extra)  # type: ignore[union-attr]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(build_parser(), argv)
    if args.command == "run":
        return _run(args)
    if args.command == "drift":
        from contracts.run.drift_command import run as drift

        return drift(args)
    return _lint(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
