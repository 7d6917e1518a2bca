"""``mockserver run``: granian and the async front, as users start it.

These start the server as a user does (a subprocess on a free loopback port) and check what the
serving layer must get right: stalled clients cannot stall it, a stop finishes the answers in
flight, state is empty at every start unless ``--state DIR`` keeps it (and then several
workers and a restart share it), workers never hand out the same file name, and several
workers refuse a store they cannot share. Every client here talks to 127.0.0.1 and every
wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from mockserver.config import MockConfig, load_config
from mockserver.web.serve import granian_options, serve, worker_seed

from live_mock import HTTP_TIMEOUT, free_port, mock_process, wait_healthy

INPAINT = "/api/v6/images/inpaint"


@contextmanager
def server(*args: str, **kwargs) -> Iterator[str]:
    with mock_process(*args, **kwargs) as (url, _):
        yield url


def post(url: str, path: str, body: dict, **headers: str) -> dict:
    # A new connection per call, so the kernel may hand each one to a different worker.
    answer = requests.post(url + path, json=body, headers={"Connection": "close", **headers}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- slow and stalled clients ---------------------------------------------------------------------


def stalled_requests(url: str, count: int, raw_body: bytes) -> list[socket.socket]:
    """``count`` connections that send half a request and stop: half of them headers that never
    end, half complete headers and half the body they announce."""
    port = urlsplit(url).port
    head = (f"POST {INPAINT} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw_body)}\r\n").encode()
    opened = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(head if i % 2 else head + b"\r\n" + raw_body[: len(raw_body) // 2])
        opened.append(sock)
    return opened


def timed(call) -> tuple[float, object]:
    begin = time.perf_counter()
    result = call()
    return time.perf_counter() - begin, result


#: How long the stalled requests below are allowed to stall (header and body timeouts). Answers
#: that had to wait for them would take this long; bounds well under it hold on a loaded machine.
STALL = 600


def test_64_stalled_half_requests_leave_health_and_the_api_answering(valid_body):
    body = json.dumps(valid_body).encode()
    env = {"MOCKSERVER_BODY_TIMEOUT": str(STALL), "MOCKSERVER_HEADER_TIMEOUT": str(STALL)}
    with server("--processing-ratio", "0", env=env) as url, ExitStack() as stack:
        for sock in stalled_requests(url, 64, body):
            stack.callback(sock.close)
        time.sleep(0.2)  # every stalled request is in: headers parsed or body awaited
        for _ in range(3):
            took, health = timed(lambda: requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT))
            assert health.status_code == 200 and took < STALL / 20, f"health took {took:.2f} s"
            took, answer = timed(lambda: requests.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT))
            assert answer.json()["status"] == "success" and took < STALL / 20, f"a valid POST took {took:.2f} s"


def test_a_body_that_stops_arriving_is_answered_408_and_headers_that_never_end_are_dropped(valid_body):
    body = json.dumps(valid_body).encode()
    env = {"MOCKSERVER_BODY_TIMEOUT": "0.5", "MOCKSERVER_HEADER_TIMEOUT": "0.5"}
    with server(env=env) as url:
        half_body, half_headers = stalled_requests(url, 2, body)
        for sock in (half_body, half_headers):
            sock.settimeout(STALL)  # a server that never gives up on them fails here, after STALL s
        took, answer = timed(lambda: half_body.recv(4096))
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        # 0.5 s timeouts; under 8 s even on a loaded machine, and sooner than the defaults (10 s, 30 s)
        assert b'"message":"Invalid API Request"' in answer and took < 8
        took, answer = timed(lambda: half_headers.recv(4096))
        assert b"HTTP/1.1 2" not in answer and took < 8, "the connection is closed, not answered"
        half_body.close()
        half_headers.close()
        assert requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 200


def test_silent_connections_beyond_the_connection_limit_only_wait_for_the_header_timeout():
    env = {"MOCKSERVER_MAX_CONNECTIONS": "4", "MOCKSERVER_HEADER_TIMEOUT": "1"}
    with server(env=env) as url, ExitStack() as stack:
        port = urlsplit(url).port
        for _ in range(8):  # twice the limit, and none of them sends a byte
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.2)
        took, health = timed(lambda: requests.get(url + "/__mock/health", timeout=10))
        assert health.status_code == 200 and 0.5 < took < 5, f"health took {took:.2f} s"


def test_a_stop_finishes_the_answers_in_flight_and_takes_no_new_connections(valid_body):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--port", str(port), "--processing-ratio", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_healthy(url, proc)
        answers: list[object] = []

        def slow() -> None:
            try:
                answers.append(requests.post(url + INPAINT, json=valid_body, headers={"Prefer": "delay=6"}, timeout=HTTP_TIMEOUT))
            except requests.RequestException as exc:
                answers.append(exc)

        caller = threading.Thread(target=slow)
        caller.start()
        # The request is in once the journal has it (its answer is made, the delay is awaited after).
        deadline = time.monotonic() + HTTP_TIMEOUT
        while not requests.get(url + "/__mock/requests", timeout=HTTP_TIMEOUT).json()["requests"]:
            assert time.monotonic() < deadline and not answers, f"the delayed request never arrived: {answers}"
            time.sleep(0.05)
        health = requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT)
        assert health.status_code == 200 and not answers, "a delayed answer does not hold the others"
        proc.send_signal(signal.SIGTERM)
        caller.join(HTTP_TIMEOUT)
        [answer] = answers
        assert isinstance(answer, requests.Response), f"the answer in flight was lost: {answer!r}"
        assert answer.status_code == 200 and answer.json()["status"] == "success"
        assert proc.wait(timeout=15) == 0
        try:
            requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT)
            raise AssertionError("a stopped mock still answers")
        except requests.ConnectionError:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=15)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found.update(int(child) for child in handle.read().split())
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_worker_stops_when_the_main_process_is_killed():
    with mock_process() as (_, proc):
        main = proc.pid  # `mockserver run` is the main process; granian forks the worker from it
        workers = _children(main)
        assert workers, "no worker found"
        os.kill(main, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, "a worker outlived its main process"
            time.sleep(0.1)


def test_a_reset_fault_drops_the_connection_and_the_server_carries_on(valid_body):
    with server("--processing-ratio", "0") as url, requests.Session() as session:
        for _ in range(2):
            try:
                session.post(url + INPAINT, json=valid_body, headers={"Prefer": "fault=reset"}, timeout=HTTP_TIMEOUT)
                raise AssertionError("a reset fault was answered")
            except requests.ConnectionError:
                pass
            assert session.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT).json()["status"] == "success"
        entries = requests.get(url + "/__mock/requests", timeout=HTTP_TIMEOUT).json()["requests"]
        assert [e["fault"] for e in entries] == ["reset", None, "reset", None]


# -- state ----------------------------------------------------------------------------------------


def test_each_start_is_empty_and_writes_nothing_to_the_current_folder(tmp_path, valid_body):
    key = {"key": valid_body["key"]}
    with server("--processing-ratio", "0", cwd=tmp_path) as url:
        made = post(url, INPAINT, valid_body)
        requests.post(url + "/__mock/rules", json={"operation": "inpaint", "respond": {"variant": "error"}}, timeout=HTTP_TIMEOUT).raise_for_status()
        assert post(url, f"/api/v6/images/fetch/{made['id']}", key)["status"] == "success"
    with server("--processing-ratio", "0", cwd=tmp_path) as url:
        again = post(url, INPAINT, valid_body)
        assert again["status"] == "success", "yesterday's rule is gone"
        assert again["id"] == made["id"], "ids start over"
        assert requests.get(url + "/__mock/requests", timeout=HTTP_TIMEOUT).json()["requests"][0]["operation"] == "v6ImagesInpaint"
        assert len(requests.get(url + "/__mock/requests", timeout=HTTP_TIMEOUT).json()["requests"]) == 1
    assert sorted(os.listdir(tmp_path)) == [], "nothing written to the current folder"


def test_state_dir_is_shared_by_servers_and_workers_and_survives_a_restart(tmp_path, valid_body):
    state = str(tmp_path / "state")
    key = {"key": valid_body["key"]}
    with server("--workers", "2", "--state", state, "--seed", "1") as one, \
            server("--workers", "2", "--state", state, "--seed", "2") as two:
        made = post(one, INPAINT, valid_body, Prefer="variant=processing, eta=60")
        assert post(two, f"/api/v6/images/fetch/{made['id']}", key)["status"] == "processing"
        post(two, "/__mock/clock", {"advance": 61})
        done = post(one, "/api/v6/images/fetch", {**key, "request_id": str(made["id"])})
        assert done["status"] == "success"
        image = requests.get(two + urlsplit(done["output"][0]).path, timeout=HTTP_TIMEOUT)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    with server("--state", state) as again:
        assert post(again, f"/api/v6/images/fetch/{made['id']}", key)["id"] == made["id"]
        assert post(again, INPAINT, valid_body, Prefer="variant=success")["id"] == made["id"] + 1


def test_workers_never_hand_out_the_same_file_name(tmp_path, valid_body):
    with server("--workers", "2", "--seed", "7", "--state", str(tmp_path)) as url:
        made = [post(url, INPAINT, valid_body, Prefer="variant=success") for _ in range(24)]
        names = {link for answer in made for link in answer["output"]}
        assert len(names) == 24
        assert len({answer["id"] for answer in made}) == 24
        for answer in made[::6]:
            fetched = post(url, f"/api/v6/images/fetch/{answer['id']}", {"key": valid_body["key"]})
            assert fetched["output"] == answer["output"]


def test_several_workers_refuse_the_in_memory_store_in_one_line(capsys):
    assert serve(MockConfig(workers=2)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers 2 needs state the workers share" in err and "--state DIR" in err


def test_state_flag_means_sqlite_there_and_sqlite_needs_a_folder(tmp_path):
    config = load_config(cli={"state": str(tmp_path)}, environ={})
    assert (config.store, config.state) == ("sqlite", str(tmp_path))
    assert load_config(cli={}, environ={}).store == "memory"
    try:
        load_config(cli={"store": "sqlite"}, environ={})
        raise AssertionError("sqlite without a folder was accepted")
    except ValueError as exc:
        assert "--state DIR" in str(exc)


def test_a_store_that_cannot_be_opened_is_a_clear_exit(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert serve(MockConfig(store=f"sqlite:///{blocker}/x.db")) == 2
    assert "cannot open the SQLite store" in capsys.readouterr().err


def test_each_worker_gets_its_own_reproducible_seed():
    seeds = [worker_seed(1234, age) for age in range(1, 200)]
    assert len(set(seeds)) == len(seeds) and 1234 not in seeds
    assert seeds == [worker_seed(1234, age) for age in range(1, 200)]
    assert all(0 <= s < 2**31 for s in seeds)


def test_the_server_settings_come_from_the_config():
    options = granian_options(MockConfig(workers=3, port=5001, header_timeout=2.5, max_connections=64))
    assert (options["workers"], options["port"], options["address"], options["backpressure"]) == (3, 5001, "127.0.0.1", 64)
    assert options["http1_settings"].header_read_timeout == 2500
    assert str(options["interface"]) == "rsgi" and options["respawn_failed_workers"]
