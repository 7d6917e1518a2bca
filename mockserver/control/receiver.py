"""A webhook receiver on loopback for tests: records what arrives, answers what you tell it.

Testing webhook handling needs a URL that something is listening on. ``WebhookReceiver`` is a
tiny threaded HTTP server on ``127.0.0.1`` (a free port) that records every request (method,
path, headers, JSON body) and answers with a scripted status per request (``statuses``, then
``default_status``), optionally holding each answer until ``release()`` (a receiver that hangs).
``wait_for(n)`` blocks until n deliveries arrived, so tests need no sleeps::

    with WebhookReceiver() as hook:
        post_inpaint(webhook=hook.url, track_id="t1")
        [delivery] = hook.wait_for(1)
        assert delivery.json["track_id"] == "t1"
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["Delivery", "WebhookReceiver"]


@dataclass(frozen=True)
class Delivery:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class WebhookReceiver:
    def __init__(self, statuses: Iterable[int] = (), default_status: int = 200, hold: bool = False,
                 path: str = "/webhook"):
        self.deliveries: list[Delivery] = []
        self._statuses = list(statuses)
        self._default = default_status
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self._cond = threading.Condition()
        self.path = path
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status = receiver._arrived(Delivery(self.command, self.path, dict(self.headers), body))
                receiver._released.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()

            do_PUT = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="webhook-receiver", daemon=True)

    def _arrived(self, delivery: Delivery) -> int:
        with self._cond:
            self.deliveries.append(delivery)
            status = self._statuses.pop(0) if self._statuses else self._default
            self._cond.notify_all()
            return status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """The first ``count`` deliveries, once they arrived; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} webhook deliveries within {timeout:g}s, "
                                         f"got {len(self.deliveries)}")
                self._cond.wait(remaining)
            return list(self.deliveries[:count])

    def release(self) -> None:
        """Let held answers go (``hold=True``)."""
        self._released.set()

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
