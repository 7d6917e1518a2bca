"""``mockserver run`` in its own process, for tests that need real workers, crashes or logs.

One helper instead of one per test module: start on a free loopback port, wait for
``/__mock/health``, hand back the URL and the process, stop it at the end of the block.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import requests

#: How long a test waits for one answer from a mock it started in another process, and for such a
#: mock to come up. Generous on purpose: on a loaded machine (a busy CI runner) a cold worker's
#: first answer, or a start, can take many seconds. A mock that really hangs still fails the test.
HTTP_TIMEOUT = 120
STARTUP_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = STARTUP_TIMEOUT, printed: list[str] | None = None) -> None:
    """Until the mock answers its health check; fails with its output if it dies first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # 401: a mock with an admin token answers without it all the same: it is up
            if requests.get(url + "/__mock/health", timeout=30).status_code in (200, 401):
                return
        except requests.RequestException:  # not listening yet, or slow on a busy machine
            pass
        if proc.poll() is not None:
            time.sleep(0.1)  # let the reader take the last lines
            raise AssertionError("".join(printed or []) or "the mock exited")
        assert time.monotonic() < deadline, "the mock did not come up"
        time.sleep(0.05)


@contextmanager
def mock_process(*args: str, env: dict[str, str] | None = None, output: list[str] | None = None,
                 cwd: str | os.PathLike | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``mockserver run --port <free> *args`` (in ``cwd``); what it printed is appended to ``output``.

    Its output (a line per request among it) is read as it comes, so a long test never fills the pipe.
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--host", "127.0.0.1", "--port", str(port),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True, cwd=cwd)
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, printed=printed)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        finally:
            reader.join(timeout=5)
        if output is not None:
            output.append("".join(printed))
