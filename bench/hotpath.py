"""A two-minute look at the hot path: the figures of ``make bench`` that the speed work moves.

``python bench/hotpath.py [--duration S] [--runs N]`` starts the mock (``mockserver run``
defaults, or ``--state``) and the raw-WSGI ceiling exactly as ``bench/run.py`` does, loads the validated ``POST /inpaint`` and a fetch at
16 connections with wrk, and prints req/s and the server's CPU per request; then the cold start
to the first answer. No Prism, no images, no full store: use it between changes, and
``make bench`` for the figures to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (bench/run.py)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per cell (default 5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--state", action="store_true", help="the mock with --state DIR (SQLite), not in memory")
    parser.add_argument("--cold", type=int, default=5, help="cold starts to time (0: none)")
    parser.add_argument("--no-ceiling", action="store_true")
    args = parser.parse_args(argv)
    wrk = bench.ensure_wrk()
    body = json.dumps(bench.BODY).encode()
    rows = []

    def cell(name: str, server: bench.Server, url: str, **kwargs) -> None:
        pids = server.pids()
        before = bench.cpu_seconds(pids)
        found = bench.run_wrk(wrk, url, args.connections, args.duration, **kwargs)
        spent = bench.cpu_seconds(pids) - before
        cpu = round(spent / found["requests"] * 1e6) if found["requests"] else None
        rows.append((name, found["rps"], found["p99_ms"], found["errors"], cpu))
        print(f"{name:<22} {found['rps']:>8.0f} req/s  p99 {found['p99_ms']:>7.2f} ms  "
              f"err {found['errors']:<4} cpu {cpu} us/req", flush=True)

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as scratch:
        port = bench.free_port()
        extra = ["--workers", str(args.workers)] + (["--state", scratch] if args.state or args.workers > 1 else [])
        mock = bench.Server("mock", bench.mock_command(port, *extra), port)
        mock.start(bench.post_ok(f"{bench.API}/inpaint", bench.BODY))
        time.sleep(1.5)
        bench.wait_until_idle(mock)
        try:
            made = requests.post(f"{mock.url}{bench.API}/inpaint", data=body,
                                 headers={"Content-Type": "application/json"}, timeout=10).json()
            cell("POST /inpaint (mock)", mock, f"{mock.url}{bench.API}/inpaint", body=body)
            cell("fetch (mock)", mock, f"{mock.url}{bench.API}/fetch/{made['id']}",
                 body=json.dumps({"key": bench.KEY}).encode())
        finally:
            mock.stop()
    if not args.no_ceiling:
        port = bench.free_port()
        ceiling = bench.Server("ceiling", [sys.executable, str(bench.BENCH / "ceiling_app.py"), str(port),
                                           str(args.workers)], port)
        ceiling.start(bench.post_ok(f"{bench.API}/inpaint", bench.BODY))
        bench.wait_until_idle(ceiling)
        try:
            cell("POST, raw WSGI", ceiling, f"{ceiling.url}{bench.API}/inpaint", body=body)
        finally:
            ceiling.stop()
    if args.cold:
        with tempfile.TemporaryDirectory() as scratch:
            extra = ["--workers", str(args.workers), "--state", scratch] if args.workers > 1 else []
            starts, cpus = bench.cold_starts(args.cold, *extra)
        print(f"cold start: median {statistics.median(starts):.3f} s, runs {[round(s, 3) for s in starts]}; "
              f"CPU by the first answer: median {statistics.median(cpus):.3f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
