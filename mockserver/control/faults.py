"""Faults a client must survive: rate limits, gateway outages, dropped connections, cut bodies.

A fault is chosen by ``Prefer: fault=NAME``, by a scenario rule, or by the configured
probabilities (``fault_*_ratio``), drawn from the one seeded RNG so a run replays exactly.

Two families, because they happen at different places in a real deployment:

* **in front of the service** (the request never reaches it, no job is made):
  ``rate_limit`` (the real "Rate limit exceeded" body; 429 + ``Retry-After`` under
  ``--http-errors``), ``outage`` (503), ``bad_gateway`` (502), ``gateway_timeout`` (504), each
  answered with the HTML page an nginx gateway sends, and ``cloudflare_timeout`` (524, the
  page Cloudflare sends when the origin is too slow);
* **on the way back** (the request was handled, a job may exist, the answer is lost):
  ``reset`` closes the connection abruptly with no response (a TCP reset where the server
  lets us reach the socket; elsewhere a truncated body), ``truncated`` sends only the first
  half of the JSON body with a matching ``Content-Length``.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from typing import Any, Callable, Mapping

__all__ = ["AFTER", "BEFORE", "FAULTS", "FaultPlan", "abort_connection", "gateway_page", "truncate"]

#: Fault name -> HTTP status of the gateway page (None: not a gateway page).
BEFORE = {"rate_limit": None, "outage": 503, "bad_gateway": 502, "gateway_timeout": 504, "cloudflare_timeout": 524}
AFTER = ("reset", "truncated")
FAULTS = tuple(BEFORE) + AFTER

_NGINX_TITLES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}
_CLOUDFLARE = (
    '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n'
    '<html class="no-js" lang="en-US">\n<head>\n<title>modelslab.com | 524: A timeout occurred</title>\n'
    '<meta charset="UTF-8" />\n<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
    '<meta name="robots" content="noindex, nofollow" />\n</head>\n<body>\n<div id="cf-wrapper">\n'
    '<div id="cf-error-details" class="cf-error-details-wrapper">\n<header>\n'
    '<h1><span class="inline-block">A timeout occurred</span>\n'
    '<span class="code-label">Error code 524</span></h1>\n</header>\n'
    '<div class="clearfix"><h2>What happened?</h2>\n'
    '<p>The origin web server timed out responding to this request.</p></div>\n'
    '<div class="cf-error-footer"><p>Cloudflare Ray ID: <strong>8d3f0c0a1b2c3d4e</strong> &bull; '
    'Performance &amp; security by Cloudflare</p></div>\n</div>\n</div>\n</body>\n</html>\n'
)


def gateway_page(fault: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, HTML body, headers) a gateway sends for an outage-type fault."""
    status = BEFORE[fault]
    if status is None:
        raise ValueError(f"{fault!r} is not a gateway fault")
    if status == 524:
        return status, _CLOUDFLARE.encode(), {"Server": "cloudflare", "Content-Type": "text/html; charset=UTF-8"}
    title = _NGINX_TITLES[status]
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return status, body.encode(), {"Server": "nginx", "Content-Type": "text/html"}


def truncate(data: bytes) -> bytes:
    """The first half of a body (at least one byte, never all of it): JSON that does not parse."""
    if len(data) <= 1:
        return b""
    return data[: max(1, len(data) // 2)]


def abort_connection(environ: Mapping[str, Any]) -> bool:
    """Reset the client's connection now, with nothing sent; False when the socket is out of reach.

    Works with werkzeug's server (``werkzeug.socket``) and gunicorn (``gunicorn.socket``). The
    socket is set to linger 0 and its descriptor is swapped (``dup2``) for one end of a closed
    socket pair: the kernel drops the client's connection with a RST at once, and whatever the
    server writes afterwards fails quietly with a broken pipe instead of reaching anyone.
    ``mockserver run``'s front (mockserver/web/front.py) offers ``mockserver.abort`` instead: it
    closes the connection before a byte of the answer is sent.
    """
    abort = environ.get("mockserver.abort")
    if callable(abort):
        abort()
        return True
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or sock.fileno() < 0:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        spare, peer = socket.socketpair()
        peer.close()
        try:
            os.dup2(spare.fileno(), sock.fileno())
        finally:
            spare.close()
    except OSError:
        return False
    return True


class FaultPlan:
    """Draws a configured fault for a request; no RNG draw at all when every ratio is zero."""

    def __init__(self, ratios: Mapping[str, float], draw: Callable[[Callable[[random.Random], Any]], Any]):
        unknown = set(ratios) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        self._cumulative: list[tuple[float, str]] = []
        total = 0.0
        for name in FAULTS:
            ratio = float(ratios.get(name, 0.0))
            if ratio > 0:
                total += ratio
                self._cumulative.append((total, name))
        if total > 1.0 + 1e-9:
            raise ValueError("fault ratios must add up to at most 1")
        self._draw = draw

    @property
    def active(self) -> bool:
        return bool(self._cumulative)

    def sample(self) -> str | None:
        if not self._cumulative:
            return None
        u = self._draw(lambda rng: rng.random())
        for bound, name in self._cumulative:
            if u < bound:
                return name
        return None
