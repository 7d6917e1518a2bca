"""The async front ``mockserver run`` serves through: granian's RSGI interface, the WSGI app in-line.

Granian (a Rust HTTP server) accepts connections and parses requests outside Python. This
front then reads the request's whole body in the event loop, bounded by ``max_body_bytes`` and
a read timeout, and only then calls the WSGI app (the fast path, Flask behind it) synchronously
in the loop's thread: no thread hop, so no context switch per request, and a client that sends
half a request holds a connection, never the Python thread. Measured on this project's 2-core
machine (docs/performance.md): 64 stalled half-requests leave health and the API answering in
milliseconds, where gunicorn's threads (and granian's own WSGI interface with one thread) hung.

What the app sees is a plain WSGI environ (PEP 3333) with the body in a ``BytesIO``:

* a body announced larger than ``max_body_bytes`` is not read at all; the app sees the
  ``Content-Length`` and answers 413 as it always did (the fast path and Flask both do);
* a chunked body is read up to one byte past the limit, so the app sees that it is too large;
* a body that has not arrived ``body_timeout`` seconds after its headers is answered 408
  with the real service's "Invalid API Request" body, and the connection is closed;
* a client that hangs up mid-body gets nothing (there is nobody to answer).

Two things the engine does would block the loop, and the front takes them over:

* ``deferred_sleep`` replaces the engine's ``time.sleep`` (``Prefer: delay=``, latency
  settings): the delay is remembered and awaited after the app returns, so other requests
  are answered meanwhile;
* ``environ["mockserver.abort"]`` lets the ``reset`` fault drop the connection with no
  answer (``control.faults.abort_connection``). The front finds the connection's socket among
  the process's descriptors (``/proc/self/fd``, by its two addresses) and resets it the way
  ``abort_connection`` resets gunicorn's: linger 0, descriptor swapped for a dead socket pair,
  so the client gets a TCP reset and granian's later write fails quietly. Where that is not
  possible (no ``/proc``), the answer is announced with a length and ended short: the client
  sees the connection break mid-answer.

Init/mask image URLs on the allow-list are still fetched in-line (at most
``image_fetch_timeout`` seconds, then cached): more ``--workers`` give more such fetches at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import os
import socket
import struct
import sys
import time
from typing import Any, Callable, Iterable

__all__ = ["RSGIFront", "TOO_SLOW", "deferred_sleep"]

log = logging.getLogger("mockserver")

#: The answer to a body that did not arrive in time (HTTP 408), in the real service's words.
TOO_SLOW = b'{"status":"error","message":"Invalid API Request","tip":"The request body did not arrive in time."}'

_JSON_CLOSE = [("content-type", "application/json"), ("connection", "close")]
_BUG = b'{"status":"error","message":"mock bug: internal error","kind":"front"}'

#: Seconds the engine asked to wait before this request's answer (None outside the front).
_DELAY: contextvars.ContextVar[float | None] = contextvars.ContextVar("mockserver_delay", default=None)


def deferred_sleep(seconds: float) -> None:
    """The engine's ``sleep`` under the front: add to the request's delay, awaited after the app
    returns (the loop keeps serving others). Outside a front request, an ordinary sleep."""
    pending = _DELAY.get()
    if pending is None:
        time.sleep(seconds)
    else:
        _DELAY.set(pending + seconds)


class _Answer:
    """``start_response`` for one request, and whether the app asked to drop the connection."""

    __slots__ = ("status", "headers", "aborted")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.aborted = False

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        self.status = int(status[:3])
        self.headers = headers
        return _no_write

    def abort(self) -> None:
        self.aborted = True


def _no_write(data: bytes) -> None:  # pragma: no cover - the mock never uses write()
    raise RuntimeError("the mock's WSGI app must return its body, not write() it")


class RSGIFront:
    """An RSGI app (granian's ``--interface rsgi``) that serves a WSGI app as described above."""

    def __init__(self, app: Callable[[dict[str, Any], Callable], Iterable[bytes]], *,
                 max_body_bytes: int, body_timeout: float = 30.0, multiprocess: bool = False):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self._base = {
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,  # the whole body is in wsgi.input (werkzeug reads to its end)
        }

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        environ = dict(self._base)
        for name, value in scope.headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name == "content-length":
                environ["CONTENT_LENGTH"] = value
            else:
                key = "HTTP_" + name.upper().replace("-", "_")
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        try:
            body = await self._body(environ, proto)
        except asyncio.TimeoutError:
            proto.response_bytes(408, _JSON_CLOSE, TOO_SLOW)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away mid-body: nobody to answer
            log.debug("client went away while sending %s %s: %s", scope.method, scope.path, type(exc).__name__)
            return
        server, _, port = scope.server.rpartition(":")
        client, _, client_port = scope.client.rpartition(":")
        answer = _Answer()
        environ.update({
            "REQUEST_METHOD": scope.method,
            "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server.strip("[]"),
            "SERVER_PORT": port,
            "REMOTE_ADDR": client.strip("[]"),
            "REMOTE_PORT": client_port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "mockserver.abort": answer.abort,
        })
        token = _DELAY.set(0.0)
        try:
            data = self._call(environ, answer)
            delay = _DELAY.get()
        finally:
            _DELAY.reset(token)
        if delay:
            await asyncio.sleep(delay)
        if answer.aborted and not _reset(scope.server, scope.client):
            # No socket found to reset: announce a body and end it short, so the client sees the
            # connection break (mid-answer) rather than a complete empty answer.
            headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
            stream = proto.response_stream(answer.status, headers + [("content-length", "2")])
            await stream.send_bytes(b" ")
            return
        proto.response_bytes(answer.status, answer.headers, data)

    def _call(self, environ: dict[str, Any], answer: _Answer) -> bytes:
        try:
            result = self.app(environ, answer)
            try:
                return b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # the app has its own error pages; this is a bug below them
            log.exception("mock bug while answering %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            answer.status, answer.headers = 500, [("content-type", "application/json")]
            return _BUG

    async def _body(self, environ: dict[str, Any], proto: Any) -> bytes:
        length = environ.get("CONTENT_LENGTH")
        if length is None:
            if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
                return b""
            async with asyncio.timeout(self.body_timeout):
                return await self._chunks(proto)
        text = length.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > self.max_body_bytes or int(text) == 0:
            return b""  # too large (the app answers 413 from the length, unread) or nothing to read
        pending = proto()
        if pending.done():  # the body came with the headers: no timer needed
            return pending.result()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            pending.cancel()

        timer = asyncio.get_running_loop().call_later(self.body_timeout, expire)
        try:
            return await pending
        except asyncio.CancelledError:
            if not expired:
                raise  # not our timer: the server is stopping this task
            raise asyncio.TimeoutError from None
        finally:
            timer.cancel()

    async def _chunks(self, proto: Any) -> bytes:
        parts, size = [], 0
        async for chunk in proto:
            parts.append(chunk)
            size += len(chunk)
            if size > self.max_body_bytes:
                break  # one byte past the limit is enough for the app to answer 413
        return b"".join(parts)


def _reset(server: str, client: str) -> bool:
    """Reset this process's TCP connection from ``server`` to ``client`` (both ``host:port`` as
    granian gives them); False when it cannot be found (no ``/proc/self/fd``, already gone)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return False
    client_host, _, client_port = client.rpartition(":")
    server_port = server.rpartition(":")[2]
    wanted = (client_host.strip("[]"), int(client_port), int(server_port))
    for name in names:
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(int(name)))
        except (OSError, ValueError):
            continue
        with sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
                continue
            try:
                peer, mine = sock.getpeername(), sock.getsockname()
            except OSError:  # the listening socket, or a connection already closed
                continue
            if (peer[0].removeprefix("::ffff:"), peer[1], mine[1]) != wanted:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                spare, other = socket.socketpair()
                other.close()
                try:
                    os.dup2(spare.fileno(), int(name))
                finally:
                    spare.close()
            except OSError:
                return False
            return True  # closing our duplicate, the last one, sends the reset
    return False
