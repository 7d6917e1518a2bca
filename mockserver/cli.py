"""``mockserver``: run the offline ModelsLab mock.

``mockserver run --help`` is the reference for every flag; each flag also has a
``MOCKSERVER_*`` variable and a key in the TOML config (see mockserver/config.py for the order
they are read in).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from mockserver.config import PROFILES, ConfigError, MockConfig, load_config

__all__ = ["build_parser", "main"]


def _flag(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(f"--{name}", dest=name.replace("-", "_"), action="store_const", const=True,
                        default=None, help=help_text)
    parser.add_argument(f"--no-{name}", dest=name.replace("-", "_"), action="store_const", const=False,
                        help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description="Offline mock of the ModelsLab inpaint API.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="serve the mock",
        description="Serve the mock. Precedence: flags > MOCKSERVER_* environment > --config TOML > --profile > defaults.",
    )
    run.add_argument("--host", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default 4010)")
    run.add_argument("--spec", help="OpenAPI file: a name in openapi/ or a path (default the project spec)")
    run.add_argument("--config", dest="config_file", help="TOML config file (also MOCKSERVER_CONFIG)")
    run.add_argument("--seed", type=int, help="seed of the one RNG; the same seed replays the same run")
    _flag(run, "strict", "reject what compat mode would coerce (strings for numbers, nulls, unknown fields)")
    _flag(run, "http-errors", "answer errors with 400/401/404/422/429 instead of the real service's 200")
    _flag(run, "validate-responses", "check every answer against the spec; a mock bug becomes a 500")
    run.add_argument("--profile", choices=sorted(PROFILES), help="default: quick etas, no errors; realistic: 6-150 s etas, rare errors")
    run.add_argument("--public-url", help="base URL for output and fetch links (default: the request's host)")
    run.add_argument("--processing-ratio", type=float, help="share of requests answered 'processing'")
    run.add_argument("--error-ratio", type=float, help="share of requests answered with an error")
    run.add_argument("--failed-ratio", type=float, help="share of jobs that end 'failed'")
    run.add_argument("--workers", type=int, help="server processes (default 1); more than one needs a shared store")
    run.add_argument("--threads", type=int, help="threads per process (default 4)")
    run.add_argument("--store", help="memory | sqlite (default, a file in --state-dir) | sqlite:///path | redis://host:port/db")
    run.add_argument("--state-dir", help="folder of the default SQLite store (default .state)")
    run.add_argument("--image-dir", help="folder init/mask images may name as file:NAME (default none)")
    run.add_argument("--image-allow-hosts", help="hosts init/mask image URLs may be fetched from (default loopback)")
    run.add_argument("--webhook-allow-hosts", help="hosts webhooks may be delivered to (default loopback)")
    run.add_argument("--admin-token", help="token /__mock/ requires (Authorization: Bearer TOKEN); a non-loopback "
                     "--host without one gets a generated token, printed at start (also MOCKSERVER_ADMIN_TOKEN)")
    run.add_argument("--latency", help="delay before every answer: fixed:S, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA")
    from mockserver.record.command import add_parser as add_record_parser

    add_record_parser(sub)
    return parser


def _config_from_args(args: argparse.Namespace) -> MockConfig:
    cli = {k: v for k, v in vars(args).items() if k not in ("command", "config_file")}
    return load_config(cli=cli, config_file=args.config_file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "record":
        from mockserver.record.command import run as record

        return record(args)
    try:
        config = _config_from_args(args)
    except ConfigError as exc:
        parser.error(str(exc))
    from mockserver.web.serve import serve  # imported late: --help stays fast

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return serve(config)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
