"""The one way in: every route of the spec answered straight from WSGI.

``Adapter`` is the mock's WSGI application. The spec's routes are compiled once
(``mockserver.engine.routes``: static segments before templated ones, any path parameter); a
request to one of them is turned into an ``Incoming`` by hand (no Flask request context, URL
map or response objects: they cost about as much CPU as the engine itself), handed to the
engine and sent as ``responses.encode`` renders the ``Outcome``. A path of a route with
another method is a 405 with ``Allow``. Everything else goes on to ``fallback``: the Flask app
of the admin API (``/__mock/``) and the output files (``/generations/``), whose own 404 is JSON.
Every error body here (413, 400, 405, a mock bug) is built by ``mockserver.engine.errors``.

Browsers get what they need to call the mock from a page on another origin (``cors``, on by
default, as Prism does): an answer to a request carrying ``Origin`` says
``Access-Control-Allow-Origin: *`` and exposes its headers (``Retry-After``,
``X-RateLimit-Reset``...), and a preflight ``OPTIONS`` of an API route or an output file is
answered 204 with the path's methods and the headers the page asked for (``Authorization``
included, which a ``*`` would not cover). A plain ``OPTIONS`` is a 204 with ``Allow``, and
``HEAD`` of a ``GET`` route is that ``GET`` without its body, unless the spec declares them. The
admin API (``/__mock/``) gets none of this: other sites' pages are refused there.

It also enforces ``max_body_bytes``: a body announced (or streamed) larger than that is answered
413 without reading it (the real service's "Invalid API Request" on ModelsLab routes), and the
connection is closed (the unread rest cannot be skipped cheaply).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable

import re

from mockserver.engine import errors
from mockserver.engine.context import Incoming
from mockserver.state.store import StoreUnavailable
from mockserver.web.http import dumps
from mockserver.web.responses import encode

if TYPE_CHECKING:
    from mockserver.web.context import MockState

__all__ = ["Adapter", "TOO_LARGE", "host_url", "request_headers", "status_line"]

log = logging.getLogger("mockserver")

#: The answer to a body over ``max_body_bytes`` (HTTP 413) on a ModelsLab route.
TOO_LARGE = errors.too_large()

_HOST_CACHE_LIMIT = 256
_CHUNK = 64 * 1024


#: Status lines as werkzeug sends them, for the codes the engine answers with (werkzeug itself,
#: an import Flask needs but the adapter does not, is asked only about any other code).
_STATUS = {
    200: "200 OK", 201: "201 CREATED", 204: "204 NO CONTENT", 400: "400 BAD REQUEST", 401: "401 UNAUTHORIZED", 404: "404 NOT FOUND",
    405: "405 METHOD NOT ALLOWED",
    413: "413 REQUEST ENTITY TOO LARGE", 415: "415 UNSUPPORTED MEDIA TYPE", 422: "422 UNPROCESSABLE ENTITY", 429: "429 TOO MANY REQUESTS",
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


ADMIN_PREFIX = "/__mock/"
#: A header list a preflight may ask for: tokens separated by commas (anything else is not echoed).
_HEADER_LIST = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")


def _with_cors(start_response: Callable, environ: dict[str, Any]) -> Callable:
    """``start_response`` adding what a browser needs to let a page of another origin read the answer:
    any origin (no credentials are involved: the key travels in the body or a header), every header
    exposed, and for a preflight the request headers it asked for and how long to remember them."""
    extra = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "*")]
    if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").strip()
        if asked and len(asked) <= 1024 and _HEADER_LIST.fullmatch(asked):
            extra.append(("Access-Control-Allow-Headers", asked))
        extra.append(("Access-Control-Max-Age", "600"))

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        names = {name.lower() for name, _ in headers}
        headers = list(headers)
        if environ.get("REQUEST_METHOD") == "OPTIONS" and "access-control-allow-methods" not in names:
            allow = next((value for name, value in headers if name.lower() == "allow"), None)
            if allow and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
                headers.append(("Access-Control-Allow-Methods", allow))  # Flask's own OPTIONS (output files)
        headers.extend(item for item in extra if item[0].lower() not in names)
        return start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)

    return start


def _text(raw: str) -> str:
    """A WSGI string (bytes as latin-1) as the UTF-8 text werkzeug reads it."""
    return raw if raw.isascii() else raw.encode("latin-1", "replace").decode("utf-8", "replace")


class Adapter:
    """WSGI: the spec's routes answered by the engine, the rest by ``fallback`` (Flask)."""

    def __init__(self, state: "MockState", fallback: Callable):
        self.state = state
        self.fallback = fallback
        self.routes = state.routes
        self.public_url = state.config.public_url.rstrip("/") if state.config.public_url else None
        self.max_body_bytes = state.config.max_body_bytes
        self.cors = state.config.cors
        self._hosts: dict[tuple, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = _text(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if self.cors and "HTTP_ORIGIN" in environ and not path.startswith(ADMIN_PREFIX):
            start_response = _with_cors(start_response, environ)
        found = self.routes.match(method, path)
        if found.operation is not None:
            return self._serve(found.operation, found.params, method, path, environ, start_response)
        if found.allowed:
            if method == "OPTIONS":
                return self._options(start_response, found.allowed, environ)
            if method == "HEAD" and "GET" in found.allowed:
                got = self.routes.match("GET", path)
                answer = self._serve(got.operation, got.params, "HEAD", path, environ, start_response)
                return [b"" for _ in answer]  # its headers (Content-Length too), no body
            allowed = ", ".join(found.allowed)
            return self._send(start_response, 405, errors.http_error(405),
                              [("Content-Type", "application/json"), ("Allow", allowed)])
        return self.fallback(environ, start_response)

    def _options(self, start_response: Callable, allowed: tuple[str, ...], environ: dict[str, Any]) -> list[bytes]:
        """A path's methods (OPTIONS, and HEAD for a GET, included); a CORS preflight also gets what
        the page asked to send (``_with_cors`` adds the rest)."""
        methods = list(allowed)
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        methods.append("OPTIONS")
        headers = [("Allow", ", ".join(methods))]
        if self.cors and "HTTP_ORIGIN" in environ and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            headers.append(("Access-Control-Allow-Methods", ", ".join(methods)))
        start_response(status_line(204), headers)
        return []

    def test_client(self) -> Any:
        """A werkzeug test client, as ``Flask.test_client()`` gives for the Flask app."""
        from werkzeug.test import Client
        from werkzeug.wrappers import Response

        return Client(self, Response)

    # -- one request ----------------------------------------------------------------------------

    @staticmethod
    def _send(start_response: Callable, status: int, body: Any, headers: list[tuple[str, str]]) -> list[bytes]:
        data = dumps(body)
        start_response(status_line(status), [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def _serve(self, operation: str, params: dict[str, str], method: str, path: str, environ: dict[str, Any],
               start_response: Callable) -> Iterable[bytes]:
        modelslab = self.state.is_modelslab(operation)
        try:
            try:
                body = self._read_body(environ)
            except BodyTooLarge:
                return self._send(start_response, 413, errors.too_large(modelslab),
                                  [("Content-Type", "application/json"), ("Connection", "close")])
            except Exception as exc:  # the server could not read the body: the client went away mid-body
                log.debug("client went away while sending %s %s: %s", method, path, type(exc).__name__)
                return self._send(start_response, 400, errors.client_gone(modelslab),
                                  [("Content-Type", "application/json"), ("Connection", "close")])
            query = environ.get("QUERY_STRING", "")
            if query:
                query = _text(query)
            incoming = Incoming(
                operation=operation,
                body=body,
                content_type=environ.get("CONTENT_TYPE"),
                base_url=self.public_url or self._base_url(environ),
                prefer=environ.get("HTTP_PREFER"),
                path_params=params,
                method=method,
                path=f"{path}?{query}".rstrip("?"),  # request.full_path.rstrip("?"), as werkzeug reads it
                headers=request_headers(environ),
                query=query,
            )
            status, headers, data = encode(self.state.handle(incoming), environ)
        except StoreUnavailable as exc:  # the state store is down: a 503 that says so, never a mock bug
            log.warning("%s (%s %s)", exc, method, path)
            status, headers = 503, {"Content-Type": "application/json", "Retry-After": "1"}
            data = dumps(errors.store_unavailable(str(exc)))
        except Exception as exc:  # a bug of the mock: a 500 that says so, never blamed on the client
            log.exception("mock bug while answering %s %s", method, path)
            status, headers = 500, {"Content-Type": "application/json"}
            data = dumps(errors.mock_bug(type(exc).__name__))
        items = list(headers.items())
        items.append(("Content-Length", str(len(data))))
        start_response(status_line(status), items)
        return [data]

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The body as werkzeug's ``request.get_data()`` reads it, refusing more than the limit."""
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
