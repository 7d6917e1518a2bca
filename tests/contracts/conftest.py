"""Fixtures for the contracts toolkit's tests: any WSGI app on a socket, broken mocks, Redis."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from typing import Any, Callable, Iterator

import pytest
from werkzeug.serving import make_server


class ServedApp:
    """Any WSGI app on a free loopback port, in a thread."""

    def __init__(self, app: Any):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def serve_wsgi() -> Iterator[Callable[[Any], ServedApp]]:
    """``serve_wsgi(app).url``: put a WSGI app on a socket for one test."""
    started: list[ServedApp] = []

    def start(app: Any) -> ServedApp:
        served = ServedApp(app)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def corrupting(app: Any, edit: Callable[[str, dict[str, Any]], dict[str, Any] | None]) -> Any:
    """Wrap a WSGI app so that ``edit(path, body)`` may rewrite each JSON answer (a broken mock)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]):
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured.update(status=status, headers=headers)
            return lambda chunk: None

        result = app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            changed = edit(environ["PATH_INFO"], data)
            if changed is not None:
                body = json.dumps(changed).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    return wrapped


@pytest.fixture
def corrupt() -> Callable[..., Any]:
    return corrupting


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: $REDIS_URL (or CI's $MOCK_TEST_REDIS_URL), else 127.0.0.1:6379, else a throwaway
    redis-server; skipped with the reason if none of these exists."""
    url = os.environ.get("REDIS_URL") or os.environ.get("MOCK_TEST_REDIS_URL")
    if url:
        yield url
        return
    if _reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/15"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"redis-server did not start on port {port}")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
