"""``mockserver``: run the offline ModelsLab mock.

``mockserver run --help`` shows every setting as a flag, in groups; ``mockserver settings`` lists
them with their defaults, environment variables and TOML keys (both generated from
mockserver/settings.py). A problem at start (a spec that is missing or not OpenAPI, a port in use,
a value that cannot be used) is one line on stderr saying what to do, and exit status 2.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import logging
import os
import socket
import sys
from typing import Sequence

from mockserver.config import ConfigError, MockConfig, load_config

__all__ = ["build_parser", "main", "preflight", "version"]

_KIND_METAVAR = {"int": "N", "float": "NUM", "list": "A,B", "table": "URL=TARGET", "text": "TEXT"}


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("modelslab-mock")
    except PackageNotFoundError:  # pragma: no cover - a source tree without an install
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    """Unknown flags are reported by the subcommand that got them, with its usage and a suggestion."""

    def unknown(self, extra: list[str]) -> None:
        known = [o for action in self._actions for o in action.option_strings]
        hints = []
        for word in extra:
            if word.startswith("-"):
                close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1)
                if close:
                    hints.append(f"{word.split('=', 1)[0]} -> {close[0]}?")
        hint = f" (did you mean: {', '.join(hints)})" if hints else ""
        self.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _add_settings(run: argparse.ArgumentParser) -> None:
    from mockserver.settings import CHOICES, METAVARS, all_settings

    groups: dict[str, argparse._ArgumentGroup] = {}
    files = run.add_argument_group("Settings file")
    files.add_argument("--config", dest="config_file", metavar="FILE",
                       help="TOML file of settings (also MOCKSERVER_CONFIG); flags and MOCKSERVER_* win over it")
    for setting in all_settings():
        if setting.flag is None:
            continue
        group = groups.get(setting.group) or groups.setdefault(setting.group, run.add_argument_group(setting.group))
        text = f"{setting.help} (default: {setting.default})".replace("%", "%%")
        if setting.kind == "bool":
            group.add_argument(setting.flag, dest=setting.name, action=argparse.BooleanOptionalAction,
                               default=None, help=text)
        elif setting.name in CHOICES:
            group.add_argument(setting.flag, dest=setting.name, choices=CHOICES[setting.name], help=text)
        else:
            group.add_argument(setting.flag, dest=setting.name, metavar=METAVARS.get(setting.name) or _KIND_METAVAR.get(setting.kind, "VALUE"),
                               help=text)


def build_parser() -> _Parser:
    parser = _Parser(prog="mockserver", description="Offline mock of the ModelsLab image API.",
                     epilog="`mockserver run --help` for the settings; `mockserver settings` lists them all.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run", help="serve the mock",
        usage="%(prog)s [--config FILE] [--host HOST] [--port N] [--spec FILE] [--strict] [--quiet] "
              "[other settings: --help]",
        description="Serve the mock; one line per request on the console. Every setting below is also "
                    "MOCKSERVER_<NAME> in the environment and <name> in a --config TOML file. "
                    "Precedence: flags > environment > TOML > --profile > defaults.",
    )
    _add_settings(run)
    settings = sub.add_parser("settings", help="list every setting: default, flag, environment variable, TOML key",
                              description="Every setting of `mockserver run`, with its default, flag, "
                                          "environment variable and TOML key.")
    settings.add_argument("--format", choices=("text", "markdown"), default="text",
                          help="text (default) or markdown (docs/configuration.md)")
    from mockserver.record.command import add_parser as add_record_parser

    add_record_parser(sub)
    return parser


def _parse(parser: _Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        target = subparsers.choices.get(getattr(args, "command", None), parser)
        target.unknown(extra)  # type: ignore[union-attr]
    return args


def _config_from_args(args: argparse.Namespace) -> MockConfig:
    cli = {k: v for k, v in vars(args).items() if k not in ("command", "config_file")}
    return load_config(cli=cli, config_file=args.config_file)


# -- start-up checks: one line each, saying what to do ------------------------------------------------


def _check_spec(name: str) -> str | None:
    import yaml

    from contracts.core import spec as spec_module

    try:
        path = spec_module.spec_path(name)
    except FileNotFoundError:
        path = None
    if path is None or not path.is_file():
        try:
            names = sorted(p.name for p in spec_module.spec_dir().glob("*.yaml"))
        except FileNotFoundError:
            names = []
        known = f" (names in openapi/: {', '.join(names)})" if names else ""
        return f"spec {name!r} not found: neither a file nor a name in openapi/{known}; use --spec PATH"
    try:
        document = spec_module._load_document(str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        return f"spec {path} is not valid YAML{where} ({problem}); fix the file or use --spec PATH"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read spec {path} ({getattr(exc, 'strerror', None) or exc}); use --spec PATH"
    if not isinstance(document, dict) or "openapi" not in document or not isinstance(document.get("paths"), dict):
        return f"spec {path} is not an OpenAPI 3 document (no 'openapi' and 'paths' at the top); use --spec PATH"
    from mockserver.web.context import spec_problem

    return spec_problem(str(path), document)


def _check_port(host: str, port: int) -> str | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"cannot listen on {host!r}: not an address or name this machine knows; use --host 127.0.0.1"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is fine
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use (another mock on {port}? stop it with Ctrl-C "
                        f"in its terminal, or use --port {port + 1 if port < 65535 else 4010})")
            if exc.errno in (errno.EACCES, errno.EPERM):
                return f"port {port} needs privileges this user does not have; use --port 4010 (or above 1023)"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine; use --host 127.0.0.1 (or 0.0.0.0 for all)"
            return f"cannot listen on {host}:{port} ({exc.strerror or exc}); use --host / --port"
    return None


def preflight(config: MockConfig) -> str | None:
    """The first problem that would stop the mock from starting, as one line; None when fine."""
    return _check_spec(config.spec) or _check_port(config.host, config.port)


def _fail(message: str) -> int:
    print(f"mockserver: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command == "record":
        from mockserver.record.command import run as record

        return record(args)
    if args.command == "settings":
        from mockserver.settings import render_markdown, render_text

        sys.stdout.write(render_markdown() if args.format == "markdown" else render_text())
        return 0
    try:
        config = _config_from_args(args)
    except ConfigError as exc:
        return _fail(f"{exc} (`mockserver settings` lists every setting)")
    problem = preflight(config)
    if problem:
        return _fail(problem)
    from mockserver.web.serve import serve  # imported late: --help stays fast

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        return serve(config)
    except Exception as exc:  # a start-up failure the checks above did not foresee: still one line
        if os.environ.get("MOCKSERVER_TRACEBACK"):
            raise
        return _fail(f"could not start: {type(exc).__name__}: {exc} "
                     f"(MOCKSERVER_TRACEBACK=1 shows where; please report it if the spec and settings are valid)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
