"""Crashes: a worker killed with SIGKILL mid-load, then the whole server killed and started again.

An answer with an id is a promise: whatever happens to the process that gave it, a fetch of
that id must find the job. The server runs as users run it (``mockserver run --workers 2 --state
DIR``, a SQLite file in DIR); while 16 clients send jobs, one worker (a child of the server's main
process) is killed with ``kill -9``. Requests in flight on that worker may fail (the client sees a reset), but
every job that was answered with an id stays fetchable, the master starts a new worker and the
server keeps answering. Then every process of the server is killed with ``kill -9`` and a new
server on the same file still finds every job, and finishes the queued ones.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import pytest
import requests

from live_mock import HTTP_TIMEOUT, STARTUP_TIMEOUT

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def mock_server(state: str, *args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--port", str(port), "--state", state,
                             "--quiet", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own process group: killed as one below
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, proc)
        yield url, proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate(timeout=15)


def wait_until_answering(url: str, proc: subprocess.Popen, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the mock did not answer"
        time.sleep(0.05)


def workers_of(master: int) -> set[int]:
    """The workers: the children of the server's main process."""
    children: set[int] = set()
    for task in os.listdir(f"/proc/{master}/task"):
        try:
            with open(f"/proc/{master}/task/{task}/children") as handle:
                children.update(int(pid) for pid in handle.read().split())
        except FileNotFoundError:
            pass
    return children


def wait_for_workers(master: int, count: int, not_in: set[int] = frozenset(), timeout: float = STARTUP_TIMEOUT) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        found = workers_of(master)
        if len(found) == count and not (found & not_in):
            return found
        assert time.monotonic() < deadline, f"workers of {master}: {found}, wanted {count} new ones"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="finds the server's workers through /proc")
def test_killed_worker_and_killed_server_lose_no_accepted_job(tmp_path, valid_body):
    state = str(tmp_path / "state")
    key = {"key": valid_body["key"]}
    accepted: list[tuple[int, str]] = []  # (id, status when answered)
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(url: str, number: int) -> None:
        session = requests.Session()
        sent = 0
        while not stop.is_set() or sent < 20:
            prefer = "variant=processing, eta=120" if (number + sent) % 2 else "variant=success"
            sent += 1
            try:
                answer = session.post(url + INPAINT, json=valid_body, headers={"Prefer": prefer}, timeout=HTTP_TIMEOUT)
                body = answer.json()
            except (requests.RequestException, ValueError) as exc:  # in flight on the killed worker
                with lock:
                    failures.append(type(exc).__name__)
                session = requests.Session()
                continue
            if answer.status_code == 200 and isinstance(body.get("id"), int):
                with lock:
                    accepted.append((body["id"], body["status"]))

    with mock_server(state, "--workers", "2", "--seed", "5") as (url, proc):
        first = wait_for_workers(proc.pid, 2)
        with ThreadPoolExecutor(16) as pool:
            running = [pool.submit(client, url, n) for n in range(16)]
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while len(accepted) < 200:  # in the middle of the load
                assert time.monotonic() < deadline and all(not r.done() for r in running)
                time.sleep(0.01)
            victim = sorted(first)[0]
            os.kill(victim, signal.SIGKILL)
            replaced = wait_for_workers(proc.pid, 2, not_in={victim})
            settled = len(accepted)
            while len(accepted) < settled + 200:  # the server goes on answering after the kill
                assert time.monotonic() < deadline
                time.sleep(0.01)
            stop.set()
            for r in running:
                r.result()
        assert victim not in replaced and len(replaced & first) == 1
        ids = [job_id for job_id, _ in accepted]
        assert len(set(ids)) == len(ids) >= 400, "every answer names its own job"
        session = requests.Session()
        for job_id, status in accepted:  # every promise is kept by the surviving and the new worker
            fetched = session.post(f"{url}{FETCH}/{job_id}", json=key, timeout=HTTP_TIMEOUT).json()
            assert fetched.get("id") == job_id and fetched["status"] == status, (job_id, fetched)

    # Every process of the server dies at once (kill -9 of the process group), then a new server starts.
    assert proc.poll() is not None
    with mock_server(state, "--workers", "2", "--seed", "6") as (url, _):
        assert requests.post(url + "/__mock/clock", json={"advance": 121}, timeout=HTTP_TIMEOUT).status_code == 200
        session = requests.Session()
        for job_id, _status in accepted:
            fetched = session.post(f"{url}{FETCH}", json={**key, "request_id": str(job_id)}, timeout=HTTP_TIMEOUT).json()
            assert fetched.get("id") == job_id and fetched["status"] == "success", (job_id, fetched)
        newest = session.post(url + INPAINT, json=valid_body, headers={"Prefer": "variant=success"}, timeout=HTTP_TIMEOUT).json()
        assert newest["id"] > max(ids), "ids are never handed out twice, even across a crash"
