"""The spec's API routes answered straight from WSGI, without Flask's per-request machinery.

The validated ``POST /inpaint`` and the fetches are most of a mock's traffic, and Flask's
request context, URL routing and response objects cost about as much CPU as the engine itself.
``FastPath`` wraps the Flask app's ``wsgi_app``: a POST to an exact API path (a trailing slash
allowed) or to ``.../fetch/<id>`` (any id, even an empty one) is turned into an ``Incoming`` by hand, handed to the same engine and
sent with the same bytes and headers ``responses.encode`` gives the Flask views; everything
else (admin API, output files, 404/405 pages, other methods) goes on to Flask unchanged.

It also enforces ``max_body_bytes``: a body announced (or streamed) larger than that is
answered 413 with the real service's "Invalid API Request" body, without reading it, and the
connection is closed (the unread rest cannot be skipped cheaply).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import re

from mockserver.engine.errors import invalid_request
from mockserver.web.http import dumps
from mockserver.engine.pipeline import Engine, Incoming
from mockserver.state.store import StoreUnavailable
from mockserver.web.responses import encode

__all__ = ["FastPath", "TOO_LARGE", "host_url", "request_headers", "status_line"]

log = logging.getLogger("mockserver")

#: The answer to a body over ``max_body_bytes`` (HTTP 413), as the Flask error page sends it.
TOO_LARGE = {"status": "error", "message": "Invalid API Request", "tip": "The request body is too large."}

_HOST_CACHE_LIMIT = 256
_CHUNK = 64 * 1024


#: Status lines as werkzeug sends them, for the codes the engine answers with (werkzeug itself,
#: an import Flask needs but the fast path does not, is asked only about any other code).
_STATUS = {
    200: "200 OK", 400: "400 BAD REQUEST", 401: "401 UNAUTHORIZED", 404: "404 NOT FOUND",
    413: "413 REQUEST ENTITY TOO LARGE", 422: "422 UNPROCESSABLE ENTITY", 429: "429 TOO MANY REQUESTS",
    500: "500 INTERNAL SERVER ERROR", 502: "502 BAD GATEWAY", 503: "503 SERVICE UNAVAILABLE",
    504: "504 GATEWAY TIMEOUT", 524: "524 UNKNOWN",
}

#: A Host header that needs no IDNA or percent decoding and no validation beyond this pattern.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[1-9][0-9]{0,4})?")


def status_line(code: int) -> str:
    """The status line werkzeug would send ("404 NOT FOUND", "524 UNKNOWN")."""
    found = _STATUS.get(code)
    if found is None:
        from werkzeug.http import HTTP_STATUS_CODES

        found = f"{code} {HTTP_STATUS_CODES.get(code, 'unknown').upper()}"
    return found


def host_url(environ: dict[str, Any]) -> str:
    """``request.host_url`` without the trailing slash: the Host header (or the server's address)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if (scheme in ("http", "https") and host is not None and _PLAIN_HOST.fullmatch(host)
            and "xn--" not in host.lower() and int(host.rpartition(":")[2] if ":" in host else 1) <= 65535):
        return f"{scheme}://{host.lower().removesuffix(':80' if scheme == 'http' else ':443')}"
    from werkzeug.sansio.utils import get_current_url
    from werkzeug.wsgi import get_host

    host = get_host(environ)
    try:
        return get_current_url(scheme, host).rstrip("/")
    except UnicodeError:
        # A label that is not valid punycode ("xn--", "xn--a"): werkzeug means to keep such a label
        # as sent, but on Python < 3.13 the idna codec raises UnicodeError where werkzeug catches
        # only UnicodeDecodeError, so a Host header any client can send was a 500 "mock bug".
        return f"{scheme}://{_iri_netloc(host)}"


def _iri_netloc(host: str) -> str:
    """``host`` (as werkzeug's ``get_host`` returns it) with each punycode label decoded where it
    is valid and kept as sent where it is not, as werkzeug's ``uri_to_iri`` does on newer Pythons."""
    from urllib.parse import urlsplit

    parts = urlsplit(f"//{host}")
    labels = []
    for label in (parts.hostname or "").split("."):
        try:
            labels.append(label.encode("ascii").decode("idna"))
        except UnicodeError:
            labels.append(label)
    netloc = ".".join(labels)
    if ":" in netloc:
        netloc = f"[{netloc}]"
    return netloc if parts.port is None else f"{netloc}:{parts.port}"


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """``dict(request.headers)`` as werkzeug builds it from the environ."""
    found = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                found[key[5:].replace("_", "-").title()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            found[key.replace("_", "-").title()] = value
    return found


class BodyTooLarge(Exception):
    pass


class FastPath:
    """WSGI middleware: the engine's POST routes served directly, the rest by ``fallback``."""

    def __init__(self, engine: Engine, fallback: Callable, public_url: str | None, max_body_bytes: int):
        self.engine = engine
        self.fallback = fallback
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body_bytes = max_body_bytes
        self.exact: dict[str, str] = {}
        self.prefixed: list[tuple[str, str, str]] = []  # (path prefix, operation, parameter)
        for op_id, op in engine.operations.items():
            if op.method.upper() != "POST" or op_id not in engine.behaviours:
                continue
            path = engine.base_path + op.path
            if "{" not in path:
                self.exact[path] = op_id
                continue
            head, _, last = path.rpartition("/")
            if last.startswith("{") and last.endswith("}") and "{" not in head:
                self.prefixed.append((head + "/", op_id, last[1:-1]))
        self._hosts: dict[tuple, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            operation, params = self.route(path)
            if operation is not None:
                return self._serve(operation, params, path, environ, start_response)
        return self.fallback(environ, start_response)

    def route(self, path: str) -> tuple[str | None, dict[str, str]]:
        """The operation a POST path names, with its path parameter: an exact path, with or without
        one trailing slash, or a templated last segment holding anything but a slash, even nothing
        (``/fetch/``, as the official CLI sends after an error: the behaviour answers for it)."""
        operation = self.exact.get(path)
        if operation is None and path.endswith("/") and len(path) > 1:
            operation = self.exact.get(path[:-1])
        if operation is not None:
            return operation, {}
        for prefix, op_id, name in self.prefixed:
            if path.startswith(prefix):
                rest = path[len(prefix):]
                if rest.endswith("/"):
                    rest = rest[:-1]
                if "/" not in rest:
                    return op_id, {name: rest}
        return None, {}

    def test_client(self) -> Any:
        """A werkzeug test client, as ``Flask.test_client()`` gives for the Flask app."""
        from werkzeug.test import Client
        from werkzeug.wrappers import Response

        return Client(self, Response)

    # -- one request ----------------------------------------------------------------------------

    def _serve(self, operation: str, params: dict[str, str], path: str, environ: dict[str, Any],
               start_response: Callable) -> Iterable[bytes]:
        try:
            try:
                body = self._read_body(environ)
            except BodyTooLarge:
                data = dumps(TOO_LARGE)
                start_response(_STATUS[413], [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data))), ("Connection", "close")])
                return [data]
            except Exception as exc:  # the server could not read the body: the client went away mid-body
                log.debug("client went away while sending POST %s: %s", path, type(exc).__name__)
                data = dumps(invalid_request().body)
                start_response(_STATUS[400], [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data))), ("Connection", "close")])
                return [data]
            query = environ.get("QUERY_STRING", "")
            if query:
                query = query.encode("latin-1", "replace").decode("utf-8", "replace")
            incoming = Incoming(
                operation=operation,
                body=body,
                content_type=environ.get("CONTENT_TYPE"),
                base_url=self.public_url or self._base_url(environ),
                prefer=environ.get("HTTP_PREFER"),
                path_params=params,
                method="POST",
                path=f"{path}?{query}".rstrip("?"),  # request.full_path.rstrip("?"), as the Flask view
                headers=request_headers(environ),
            )
            status, headers, data = encode(self.engine.handle(incoming), environ)
        except StoreUnavailable as exc:  # the Flask app's store_unavailable page
            log.warning("%s (POST %s)", exc, path)
            status, headers = 503, {"Content-Type": "application/json", "Retry-After": "1"}
            data = dumps({"status": "error", "message": str(exc)})
        except Exception as exc:  # the Flask app's mock_bug page, for the same bug
            log.exception("mock bug while answering POST %s", path)
            status, headers = 500, {"Content-Type": "application/json"}
            data = dumps({"status": "error", "message": "mock bug: internal error", "kind": type(exc).__name__})
        items = list(headers.items())
        items.append(("Content-Length", str(len(data))))
        start_response(status_line(status), items)
        return [data]

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The body as Flask's ``request.get_data()`` reads it, refusing more than the limit."""
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        raw = environ.get("CONTENT_LENGTH")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length: int | None = None
        if raw is not None and not chunked:
            text = raw.strip()
            length = int(text) if text.isascii() and text.isdigit() else 0  # werkzeug: 0 if not a number
        if length is not None:
            if length > self.max_body_bytes:
                raise BodyTooLarge
            return stream.read(length) if length else b""
        if "wsgi.input_terminated" not in environ:
            return b""  # no length and a stream that may never end: werkzeug reads nothing too
        return self._read_capped(stream)

    def _read_capped(self, stream: Any) -> bytes:
        parts, size = [], 0
        while True:
            chunk = stream.read(min(_CHUNK, self.max_body_bytes + 1 - size))
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge

    def _base_url(self, environ: dict[str, Any]) -> str:
        key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
               environ.get("SERVER_PORT"))
        found = self._hosts.get(key)
        if found is None:
            found = host_url(environ)
            if len(self._hosts) >= _HOST_CACHE_LIMIT:
                self._hosts.clear()
            self._hosts[key] = found
        return found
