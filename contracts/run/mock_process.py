"""Start ``mockserver run`` as a child process on a free port and wait until it answers.

``contracts run --target mock`` must not import the mock (the dependency rule), and a child
process is also the honest test: the suite talks to the mock over a real socket exactly as a
user's client would. The child is started with the same Python (``sys.executable -m
mockserver``), its output goes to a log file that is shown if it fails to start, and it is
always stopped, even when the run is interrupted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Sequence

import requests

__all__ = ["MockProcess", "MockStartError", "free_port"]


class MockStartError(RuntimeError):
    """The mock did not come up; the message includes the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MockProcess:
    """``with MockProcess(seed=1, strict=True) as mock: mock.url`` (root URL, no API path)."""

    def __init__(self, seed: int = 0, strict: bool = True, extra_args: Sequence[str] = (),
                 startup_timeout: float = 30.0, python: str = sys.executable):
        self.seed = seed
        self.strict = strict
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.python = python
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def command(self) -> list[str]:
        args = [self.python, "-m", "mockserver", "run", "--host", "127.0.0.1", "--port", str(self.port),
                "--seed", str(self.seed)]
        if self.strict:
            args.append("--strict")
        return args + self.extra_args

    def start(self) -> "MockProcess":
        tail = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._log = tempfile.NamedTemporaryFile(prefix="contracts-mock-", suffix=".log", delete=False)
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            for name in [n for n in env if n.startswith("MOCKSERVER_")]:
                del env[name]  # the run decides the mock's settings, not the caller's environment
            self._proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env)
            if self._wait_healthy():
                return self
            tail = self.log_tail()
            self.stop()
        raise MockStartError(f"the mock did not start: {' '.join(self.command)}\n--- its log ---\n{tail}")

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.02
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                if requests.get(f"{self.url}/__mock/health", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return False

    def log_tail(self, limit: int = 4000) -> str:
        if self._log is None:
            return ""
        try:
            with open(self._log.name, "rb") as handle:
                return handle.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            try:
                os.unlink(self._log.name)
            except OSError:
                pass
            self._log = None

    def __enter__(self) -> "MockProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
