"""``mockserver run --workers N``: real gunicorn servers sharing one SQLite file.

These start the server as a user does (a subprocess on a free loopback port) and check what
several processes must get right: a job made through one server is fetched through another,
a job outlives a restart, workers never hand out the same file name, and several workers
refuse a store they cannot share.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import requests

from mockserver.config import MockConfig
from mockserver.web.serve import gunicorn_options, serve, worker_seed

from live_mock import mock_process

INPAINT = "/api/v6/images/inpaint"


@contextmanager
def server(*args: str) -> Iterator[str]:
    with mock_process(*args) as (url, _):
        yield url


def post(url: str, path: str, body: dict, **headers: str) -> dict:
    # A new connection per call, so gunicorn may hand each one to a different worker.
    answer = requests.post(url + path, json=body, headers={"Connection": "close", **headers}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_servers_sharing_a_sqlite_file_answer_for_each_others_jobs_and_survive_a_restart(tmp_path, valid_body):
    store = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    key = {"key": valid_body["key"]}
    with server("--workers", "2", "--store", store, "--seed", "1") as one, \
            server("--workers", "2", "--store", store, "--seed", "2") as two:
        made = post(one, INPAINT, valid_body, Prefer="variant=processing, eta=60")
        assert post(two, f"/api/v6/images/fetch/{made['id']}", key)["status"] == "processing"
        post(two, "/__mock/clock", {"advance": 61})
        done = post(one, "/api/v6/images/fetch", {**key, "request_id": str(made["id"])})
        assert done["status"] == "success"
        image = requests.get(two + urlsplit(done["output"][0]).path, timeout=10)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    with server("--store", store) as again:
        assert post(again, f"/api/v6/images/fetch/{made['id']}", key)["id"] == made["id"]
        assert post(again, INPAINT, valid_body, Prefer="variant=success")["id"] == made["id"] + 1


def test_workers_never_hand_out_the_same_file_name(tmp_path, valid_body):
    with server("--workers", "2", "--threads", "1", "--seed", "7", "--state-dir", str(tmp_path)) as url:
        made = [post(url, INPAINT, valid_body, Prefer="variant=success") for _ in range(24)]
        names = {link for answer in made for link in answer["output"]}
        assert len(names) == 24
        assert len({answer["id"] for answer in made}) == 24
        for answer in made[::6]:
            fetched = post(url, f"/api/v6/images/fetch/{answer['id']}", {"key": valid_body["key"]})
            assert fetched["output"] == answer["output"]


def test_several_workers_refuse_a_store_they_cannot_share(capsys):
    assert serve(MockConfig(workers=2, store="memory")) == 2
    assert "needs a shared store" in capsys.readouterr().err


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


def test_threads_choose_the_worker_class():
    assert gunicorn_options(MockConfig(threads=1))["worker_class"] == "sync"
    options = gunicorn_options(MockConfig(workers=3, threads=8, port=5001))
    assert (options["worker_class"], options["workers"], options["threads"], options["bind"]) == \
        ("gthread", 3, 8, "127.0.0.1:5001")
