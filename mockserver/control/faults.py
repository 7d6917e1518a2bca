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

# The fault names and the gateway pages are error bodies: they live with every other one.
from mockserver.engine.errors import AFTER, BEFORE, FAULTS, gateway_page  # noqa: F401 (re-exported)

__all__ = ["AFTER", "BEFORE", "FAULTS", "FaultPlan", "abort_connection", "gateway_page", "truncate"]


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
