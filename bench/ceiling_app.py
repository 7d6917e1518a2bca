"""The ceiling: a raw WSGI app (no Flask, no validation, no state) on the very server the mock uses.

granian with the mock's settings and the same async front (mockserver/web/front.py): what
serving a request costs on this machine before the mock does any work of its own. The mock's
throughput and CPU per request are reported against this figure.
"""

from __future__ import annotations

import sys

ANSWER = b'{"status":"success","id":130000001,"output":["http://127.0.0.1/generations/x-0.png"]}'


def raw_wsgi(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


def _front(target):
    from mockserver.web.front import RSGIFront

    return RSGIFront(raw_wsgi, max_body_bytes=32 * 1024 * 1024)


def main(argv: list[str]) -> int:
    """``python bench/ceiling_app.py PORT WORKERS``: serve it the way ``mockserver run`` does."""
    from granian.server import Server

    from mockserver.config import MockConfig
    from mockserver.web.serve import granian_options

    port, workers = (int(a) for a in argv[:2])
    Server("ceiling", **granian_options(MockConfig(port=port, workers=workers))).serve(target_loader=_front)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
