"""The ``mockserver record`` subcommand: flags, the banner, and the proxy on a socket."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]

DEFAULT_BUDGET = 5


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "record", help="record real jobs as episodes through a proxy",
        description="A proxy in front of the real API: point a client at it and each job it runs is written "
                    "to the cassette as one episode (submit, polls with their offsets, final state, outputs), "
                    "keys removed. Replay with `mockserver run --replay DIR`; compare with `contracts drift DIR`.")
    parser.add_argument("--upstream", required=True, help="the API to forward to, e.g. https://modelslab.com")
    parser.add_argument("--cassette", required=True, help="folder the episodes are written to (created if needed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4011, help="port (default 4011)")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                        help=f"generation calls forwarded at most (default {DEFAULT_BUDGET}); fetches are free")
    parser.add_argument("--spec", help="OpenAPI file that says which routes generate and which fetch "
                                       "(default the project spec)")
    return parser


def run(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from contracts.core.episodes import Cassette
    from contracts.core.spec import load_document
    from mockserver.record.proxy import WEBHOOK_PATH, Recorder

    upstream = urlsplit(args.upstream)
    if upstream.scheme not in ("http", "https") or not upstream.netloc:
        print(f"mockserver record: --upstream must be an http(s) URL, not {args.upstream!r}", file=sys.stderr)
        return 2
    if args.budget < 0:
        print("mockserver record: --budget must be 0 or more", file=sys.stderr)
        return 2
    try:
        document = load_document(args.spec) if args.spec else load_document()
    except Exception as exc:  # one line, no traceback: the file and what is wrong with it
        print(f"mockserver record: cannot read the spec {args.spec or ''}: {exc}", file=sys.stderr)
        return 2
    try:
        recorder = Recorder(args.upstream, Cassette(args.cassette), document, budget=args.budget)
    except OSError as exc:
        print(f"mockserver record: cannot write the cassette {args.cassette}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    from werkzeug.serving import make_server

    try:
        from mockserver.web.access_log import AccessLog

        server = make_server(args.host, args.port, AccessLog(recorder), threaded=True)  # a line per call: progress
    except OSError as exc:
        print(f"mockserver record: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
              f"use --port", file=sys.stderr)
        return 2
    print(f"mockserver record: http://{args.host}:{server.server_port} -> {args.upstream} "
          f"(budget {args.budget} generation calls), episodes in {args.cassette}; "
          f"webhooks to http://{args.host}:{server.server_port}{WEBHOOK_PATH} are recorded", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
