"""How the toolkit talks to a target: one tiny interface, three implementations.

The checks, the admin helpers, the scenario tests and the image check all need "send this
request, give me status, headers and bytes", against very different things: a WSGI app in the
same process (no socket), a server on a URL, or the real API behind a call budget. Like httpx's
transports, each of those is a small object with one ``request`` method, so everything above it
is written once and the test seam (a fake transport) is trivial.

``WSGITransport`` drives any WSGI callable with the standard library only: this package imports
no web framework.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol
from urllib.parse import urlsplit

__all__ = ["HttpResponse", "RequestsTransport", "Transport", "TransportError", "WSGITransport"]


class TransportError(ConnectionError):
    """The request could not be sent or no answer came back (not an HTTP error status)."""


@dataclass
class HttpResponse:
    """An answer as plain data: enough for checks, assertions and cassettes."""

    status: int
    headers: dict[str, str]
    content: bytes
    url: str = ""
    method: str = "GET"
    request_body: bytes | None = None
    request_headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8"))

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


class Transport(Protocol):
    def request(self, method: str, url: str, *, json_body: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> HttpResponse: ...


def _encode(json_body: Any, data: bytes | None, headers: Mapping[str, str] | None) -> tuple[bytes | None, dict[str, str]]:
    sent = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        if not any(k.lower() == "content-type" for k in sent):
            sent["Content-Type"] = "application/json"
    return data, sent


class RequestsTransport:
    """Real HTTP with a shared ``requests`` session (keep-alive to the target)."""

    def __init__(self, session: Any = None):
        import requests

        self._session = session or requests.Session()
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, json_body: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> HttpResponse:
        import requests

        body, sent = _encode(json_body, data, headers)
        try:
            answer = self._session.request(method, url, data=body, headers=sent, timeout=timeout,
                                           allow_redirects=False)
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        return HttpResponse(answer.status_code, dict(answer.headers), answer.content, url, method.upper(), body, sent)

    def close(self) -> None:
        self._session.close()


class WSGITransport:
    """Call a WSGI application directly: no socket, no thread, the host part of a URL is ignored."""

    def __init__(self, app: Callable[..., Iterable[bytes]], host: str = "localhost"):
        self.app = app
        self.host = host

    def request(self, method: str, url: str, *, json_body: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> HttpResponse:
        body, sent = _encode(json_body, data, headers)
        parts = urlsplit(url)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method.upper(),
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or self.host,
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": parts.netloc or self.host,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body or b"")),
        }
        for name, value in sent.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = dict(response_headers)
            return lambda chunk: None

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return HttpResponse(captured["status"], captured["headers"], content, url, method.upper(), body, sent)
