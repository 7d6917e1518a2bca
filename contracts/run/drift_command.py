"""``contracts drift DIR``: run the drift report from a cassette and set the exit code.

Exit 0: no drift beyond the baseline; 1: drift; 2: cannot run (no cassette, bad spec, the mock
did not start). The mock side starts a fresh mock (compat mode, as clients meet it) unless
``--mock URL`` names a running one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "drift", help="compare a recorded cassette with the spec and with the mock",
        description="Three-way drift report from a cassette written by `mockserver record`: recorded answers "
                    "vs the spec (schema violations, undocumented fields and statuses) and vs a fresh mock "
                    "(shape, status words, HTTP status, error wording, client headers). Exit 0 no drift, "
                    "1 drift, 2 cannot run.")
    parser.add_argument("cassette", help="the cassette folder")
    parser.add_argument("--spec", help="OpenAPI file (default the project spec)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the report as JSON")
    parser.add_argument("--junit", dest="junit_out", metavar="OUT", help="write a JUnit XML report")
    parser.add_argument("--accept", action="store_true",
                        help="write DIR/drift-baseline.json so today's drift stops failing")
    parser.add_argument("--mock", metavar="URL", help="compare with this running mock instead of a fresh one")
    parser.add_argument("--no-mock", action="store_true", help="spec vs real only")
    return parser


def _sender():
    import requests

    session = requests.Session()

    def send(method: str, url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        answer = session.request(method, url, data=json.dumps(body), headers=headers, timeout=30)
        try:
            data = answer.json()
        except ValueError:
            data = answer.text[:2000]
        return answer.status_code, dict(answer.headers), data

    return send, session


def run(args: argparse.Namespace) -> int:
    from contracts.core.spec import load_document
    from contracts.run import drift

    folder = Path(args.cassette)
    try:
        document = load_document(args.spec) if args.spec else load_document()
    except Exception as exc:  # one line: the file and what is wrong
        print(f"contracts drift: cannot read the spec {args.spec or ''}: {exc}", file=sys.stderr)
        return 2
    try:
        from contracts.core.episodes import Cassette

        Cassette(folder).episodes()
    except (OSError, ValueError) as exc:
        print(f"contracts drift: {exc}", file=sys.stderr)
        return 2
    mock = None
    send = advance = url = None
    if not args.no_mock:
        send, session = _sender()
        url = args.mock.rstrip("/") if args.mock else None
        if url is None:
            from contracts.run.mock_process import MockProcess, MockStartError

            extra = ["--spec", str(Path(args.spec).resolve())] if args.spec and Path(args.spec).is_file() else \
                (["--spec", args.spec] if args.spec else [])
            try:
                mock = MockProcess(seed=0, strict=False, extra_args=extra).start()
            except MockStartError as exc:
                print(f"contracts drift: the mock did not start: {exc}", file=sys.stderr)
                return 2
            url = mock.url

        def advance(seconds: float) -> None:
            session.post(f"{url}/__mock/clock", json={"advance": seconds, "key": drift.TEST_KEY}, timeout=10)
    try:
        report = drift.build_report(folder, document, send, advance, url)
    finally:
        if mock is not None:
            mock.stop()
    for finding in report.new:
        print(finding)
    for note in report.notes:
        print(f"note: {note}")
    print(f"contracts drift: {report.episodes} episode(s), {len(report.new)} difference(s)"
          + (f", {len(report.accepted)} accepted by the baseline" if report.accepted else ""))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if args.junit_out:
        Path(args.junit_out).write_text(report.junit())
    if args.accept:
        path = drift.write_baseline(folder, report)
        print(f"contracts drift: {len(report.findings)} difference(s) accepted in {path}")
        return 0
    return 1 if report.new else 0
