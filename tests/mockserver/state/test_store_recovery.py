"""Stores that recover (issue 12, item 4).

SQLite made read-only or deleted mid-run gave 500s ("mock bug") until a full restart while
``/__mock/health`` said ok; the schema was made only before the workers started; a full disk
answered "mock bug". Now a store that cannot be used is a 503 ``state store unavailable: ...``,
``/__mock/health`` says so (503), connections are opened again once the file is back (a deleted
file is noticed and made again, with its schema, by whoever opens it next), and the mock
answers as before without a restart.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from mockserver.state.jobs import Job
from mockserver.state.sqlite_store import SqliteStore
from mockserver.state.store import MemoryStore, StoreUnavailable
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"


def _files(path: Path) -> list[Path]:
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]


def _delete(path: Path) -> None:
    for file in _files(path):
        if file.exists():
            file.unlink()


def _job(job_id: int, owner: str = "o") -> Job:
    return Job(id=job_id, owner=owner, created_at=0.0, ready_at=0.0, outcome="success", file_prefix=f"p{job_id}",
               samples=1, width=512, height=512, seed=1, generation_time=1.0, meta={})


@pytest.fixture
def sqlite_app(make_app, tmp_path):
    path = tmp_path / "state" / "mock.sqlite3"
    app = make_app(store=f"sqlite:///{path}", processing_ratio=0.0)
    return app, path


@pytest.fixture
def read_only(monkeypatch):
    """While on, every new SQLite connection opens read-only (what a file lacking write permission gives:
    the tests run as root, for whom chmod changes nothing)."""
    real = sqlite3.connect
    state = {"on": False}

    def connect(database, *args, **kwargs):
        if state["on"]:
            return real(f"file:{database}?mode=ro", *args, uri=True, **kwargs)
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    return state


def _break_connections(app) -> None:
    """Drop this thread's connection, as a worker that starts a new thread would not have one."""
    store = mock_state(app).store
    store.close()


def test_a_deleted_file_is_made_again_and_the_mock_answers_on(sqlite_app, valid_body):
    app, path = sqlite_app
    client = app.test_client()
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"
    _delete(path)
    answer = client.post(INPAINT, json=valid_body)
    assert answer.status_code == 200 and answer.json["status"] == "success"
    fetched = client.post(f"/api/v6/images/fetch/{answer.json['id']}", json={"key": valid_body["key"]})
    assert fetched.json["status"] == "success"
    assert path.exists()
    with sqlite3.connect(path) as other:  # another worker sees the job: it is in the new file, not a lost inode
        assert other.execute("SELECT count(*) FROM jobs WHERE id = ?", (answer.json["id"],)).fetchone()[0] == 1
    assert client.get("/__mock/health").status_code == 200


def test_a_deleted_folder_is_made_again(sqlite_app, valid_body):
    app, path = sqlite_app
    client = app.test_client()
    assert client.post(INPAINT, json=valid_body).status_code == 200
    shutil.rmtree(path.parent)
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"
    assert path.exists()


def test_whoever_opens_the_store_makes_the_schema(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    store.put_job(_job(store.next_id()))
    _delete(path)
    found: list = []

    def worker():  # a thread of a worker process: a connection of its own, opened after the file went
        job = _job(store.next_id())
        store.put_job(job)
        found.append(store.get_job(job.id))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert found and found[0] is not None
    store.close()


def test_a_read_only_store_is_a_503_then_recovers(sqlite_app, valid_body, read_only):
    app, path = sqlite_app
    client = app.test_client()
    assert client.post(INPAINT, json=valid_body).status_code == 200
    read_only["on"] = True
    _break_connections(app)
    answer = client.post(INPAINT, json=valid_body)
    assert answer.status_code == 503
    assert answer.json["status"] == "error" and answer.json["message"].startswith("state store unavailable: ")
    assert "mock bug" not in answer.get_data(as_text=True)
    health = client.get("/__mock/health")
    assert health.status_code == 503 and health.json["message"].startswith("state store unavailable: ")
    rule = client.post("/__mock/rules", json={"variant": "failed"})
    assert rule.status_code == 503 and rule.json["message"].startswith("state store unavailable: ")
    read_only["on"] = False  # the permissions are back: no restart needed
    assert client.get("/__mock/health").status_code == 200
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"


def test_a_full_disk_is_a_503_not_a_mock_bug(sqlite_app, valid_body, monkeypatch):
    app, path = sqlite_app
    client = app.test_client()
    assert client.post(INPAINT, json=valid_body).status_code == 200
    real = sqlite3.connect
    full = {"on": True}

    def connect(database, *args, **kwargs):  # every connection: the file may grow no more (a full disk)
        db = real(database, *args, **kwargs)
        if full["on"]:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return db

    monkeypatch.setattr(sqlite3, "connect", connect)
    _break_connections(app)
    answers = [client.post(INPAINT, json=dict(valid_body, prompt="x" * 50_000)) for _ in range(3)]
    assert [a.status_code for a in answers] == [503] * 3
    assert all(a.json["message"] == "state store unavailable: SQLite: database or disk is full" for a in answers)
    assert client.get("/__mock/health").status_code in (200, 503)  # a tiny write may still fit
    full["on"] = False
    _break_connections(app)
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"  # room again: no restart


def test_a_store_replaced_by_a_folder_is_a_503_until_the_file_is_back(sqlite_app, valid_body):
    app, path = sqlite_app
    client = app.test_client()
    assert client.post(INPAINT, json=valid_body).status_code == 200
    _delete(path)
    path.mkdir()  # the path can no longer be opened as a file at all
    answer = client.post(INPAINT, json=valid_body)
    assert answer.status_code == 503 and answer.json["message"].startswith("state store unavailable: ")
    assert client.get("/__mock/health").status_code == 503
    path.rmdir()
    assert client.get("/__mock/health").status_code == 200
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"


def test_store_errors_are_store_unavailable(tmp_path, read_only):
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    read_only["on"] = True
    store.close()
    with pytest.raises(StoreUnavailable, match="^state store unavailable: "):
        store.put_job(_job(1))
    with pytest.raises(StoreUnavailable):
        store.check_writable()
    assert store.get_job(1) is None  # reading still works
    read_only["on"] = False
    store.check_writable()
    store.put_job(_job(2))
    assert store.get_job(2) is not None


def test_memory_store_is_always_writable():
    MemoryStore().check_writable()


def test_the_live_health_check_tells_the_truth(tmp_path, valid_body):
    """In a real server process (gunicorn worker): the file goes, the folder is blocked, then comes back."""
    import requests

    from tests.live_mock import HTTP_TIMEOUT, mock_process

    path = tmp_path / "live" / "mock.sqlite3"
    with mock_process("--store", f"sqlite:///{path}") as (url, _):
        assert requests.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT).status_code == 200
        _delete(path)
        path.mkdir()
        answer = requests.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 503 and answer.json()["message"].startswith("state store unavailable: ")
        assert requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 503
        path.rmdir()
        assert requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 200
        assert requests.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT).json()["status"] in ("success", "processing")


def test_redis_down_is_a_503_naming_no_address(valid_body):
    import socket

    from mockserver import MockConfig, create_app
    from mockserver.state.redis_store import RedisStore

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="recovery-test:")
    client = create_app(MockConfig(seed=1, processing_ratio=0.0), store=store).test_client()
    answer = client.post(INPAINT, json=valid_body)
    assert answer.status_code == 503
    assert answer.json["message"] == "state store unavailable: Redis: cannot connect"
    health = client.get("/__mock/health")
    assert health.status_code == 503 and str(port) not in health.get_data(as_text=True)
