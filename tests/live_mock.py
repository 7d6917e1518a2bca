"""``mockserver run`` in its own process, for tests that need real workers, crashes or logs.

One helper instead of one per test module: start on a free loopback port, wait for
``/__mock/health``, hand back the URL and the process, stop it at the end of the block.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until the mock answers its health check; fails with its output if it dies first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/__mock/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or slow on a busy machine
            pass
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "the mock exited"
        assert time.monotonic() < deadline, "the mock did not come up"
        time.sleep(0.05)


@contextmanager
def mock_process(*args: str, env: dict[str, str] | None = None,
                 output: list[str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``mockserver run --port <free> *args``; what it printed is appended to ``output``."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--host", "127.0.0.1", "--port", str(port),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        out, _ = proc.communicate(timeout=15)
        if output is not None:
            output.append(out)
