"""The SQLite store: shared by processes, safe across a fork, kept across a restart.

The behaviour every store shares is tested in test_stores.py; this file covers what only a
file on disk can do: several processes (as gunicorn workers are) taking ids from one counter,
two mock apps answering for the same jobs, and a job outliving the app that made it.
"""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from mockserver import MockConfig, create_app
from mockserver.state.store import FIRST_JOB_ID
from mockserver.state.sqlite_store import SqliteStore

INPAINT = "/api/v6/images/inpaint"


def _take_ids(path: str, count: int, queue) -> None:
    store = SqliteStore(path)
    queue.put([store.next_id() for _ in range(count)])


def test_the_file_is_in_wal_mode_in_a_folder_made_for_it(tmp_path):
    store = SqliteStore(tmp_path / "deep" / "er" / "mock.sqlite3")
    store.next_id()
    mode = sqlite3.connect(tmp_path / "deep" / "er" / "mock.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_processes_sharing_the_file_never_get_the_same_id(tmp_path):
    path = str(tmp_path / "mock.sqlite3")
    SqliteStore(path)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_take_ids, args=(path, 60, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    got = [i for _ in workers for i in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(got) == list(range(FIRST_JOB_ID + 1, FIRST_JOB_ID + 181))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_worker_opens_its_own_connection(tmp_path):
    store = SqliteStore(tmp_path / "mock.sqlite3")
    first = store.next_id()  # the parent holds a connection, as gunicorn's master does
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=lambda: queue.put([store.next_id() for _ in range(5)]))
    child.start()
    from_child = queue.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert from_child == [first + i for i in range(1, 6)]
    assert store.next_id() == first + 6


def _app(path, **overrides):
    settings = {"seed": 1, "processing_ratio": 0.0, **overrides}
    return create_app(MockConfig(store=f"sqlite:///{path}", **settings))


def test_a_job_made_through_one_app_is_fetched_through_another(tmp_path, valid_body):
    path = tmp_path / "shared.sqlite3"
    one, two = _app(path).test_client(), _app(path).test_client()
    made = one.post(INPAINT, json=valid_body, headers={"Prefer": "variant=processing, eta=30"}).get_json()
    fetched = two.post(f"/api/v6/images/fetch/{made['id']}", json={"key": valid_body["key"]}).get_json()
    assert fetched["status"] == "processing" and fetched["id"] == made["id"]
    # The clock is shared too: moving it through one app finishes the job for the other.
    assert one.post("/__mock/clock", json={"advance": 31}).status_code == 200
    done = two.post("/api/v6/images/fetch", json={"key": valid_body["key"], "request_id": str(made["id"])}).get_json()
    assert done["status"] == "success" and done["output"] == made["future_links"]


def test_a_job_survives_a_restart(tmp_path, valid_body):
    path = tmp_path / "mock.sqlite3"
    before = _app(path)
    made = before.test_client().post(INPAINT, json=valid_body).get_json()
    before.extensions["modelslab_mock"].store.close()
    del before
    after = _app(path, seed=2).test_client()
    fetched = after.post(f"/api/v6/images/fetch/{made['id']}", json={"key": valid_body["key"]}).get_json()
    assert fetched == made
    assert after.post(INPAINT, json=valid_body).get_json()["id"] == made["id"] + 1


def test_dropped_and_expired_jobs_leave_the_file(tmp_path):
    from dataclasses import replace

    from mockserver.state.jobs import Job

    template = Job(id=0, owner="o", created_at=0.0, ready_at=0.0, outcome="success", file_prefix="p",
                   samples=1, width=512, height=512, seed=1, generation_time=1.0, meta={})

    def rows(name: str) -> tuple[int, int]:
        return sqlite3.connect(tmp_path / name).execute("SELECT min(id), count(*) FROM jobs").fetchone()

    capped = SqliteStore(tmp_path / "capped.sqlite3", max_jobs=10)
    for i in range(1, 51):
        capped.put_job(replace(template, id=i, file_prefix=f"p{i}"))
    assert rows("capped.sqlite3") == (41, 10)

    now = [1000.0]
    expiring = SqliteStore(tmp_path / "ttl.sqlite3", job_ttl=60.0, wall=lambda: now[0])
    for i in range(1, 51):
        expiring.put_job(replace(template, id=i, file_prefix=f"p{i}"))
    now[0] += 61.0
    for i in range(51, 83):  # expired rows are swept while new jobs arrive
        expiring.put_job(replace(template, id=i, file_prefix=f"p{i}"))
    assert rows("ttl.sqlite3") == (51, 32)


def test_the_default_store_is_a_sqlite_file_in_the_state_folder(tmp_path):
    app = create_app(MockConfig(state=str(tmp_path / "state")))
    store = app.extensions["modelslab_mock"].store
    assert isinstance(store, SqliteStore) and store.path == str(tmp_path / "state" / "mock.sqlite3")


def _new_job(job_id: int) -> "Job":
    from mockserver.state.jobs import Job

    return Job(id=job_id, owner="o", created_at=0.0, ready_at=0.0, outcome="success", file_prefix=f"p{job_id}",
               samples=1, width=512, height=512, seed=1, generation_time=1.0, meta={})


def test_a_job_and_its_journal_entry_are_written_together(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    first = store.append("requests", {"owner": "o", "n": 1})
    job = _new_job(store.next_id())
    seq = store.put_job_and_append(job, "requests", {"owner": "o", "n": 2})
    assert seq == first + 1
    assert store.get_job(job.id) == job
    assert [e["n"] for e in store.entries("requests")] == [1, 2]
    other = SqliteStore(tmp_path / "s.sqlite3")  # another worker sees both
    assert other.get_job(job.id) == job and len(other.entries("requests")) == 2


def test_a_job_and_entry_that_cannot_both_be_written_leave_neither(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    job = _new_job(store.next_id())
    with pytest.raises(TypeError):
        store.put_job_and_append(job, "requests", {"owner": "o", "bad": object()})
    assert store.get_job(job.id) is None and store.entries("requests") == []
    store.put_job(job)  # the connection is usable afterwards
    assert store.get_job(job.id) == job


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_worker_forked_while_a_thread_was_writing_can_write(tmp_path):
    """Threads of a process take turns on a process lock; a fork must not inherit a held one."""
    import threading

    store = SqliteStore(tmp_path / "mock.sqlite3")
    first = store.next_id()
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store._writer():  # a thread of the parent is in the middle of a write at the fork
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(30)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=lambda: queue.put(store.next_id()))
    child.start()
    try:
        assert queue.get(timeout=30) == first + 1
    finally:
        release.set()
        thread.join(30)
        child.join(30)
    assert store.next_id() == first + 2


def test_threads_of_one_process_take_turns_without_losing_a_write(tmp_path):
    import threading

    store = SqliteStore(tmp_path / "mock.sqlite3")
    ids: list[int] = []

    def work() -> None:
        for _ in range(50):
            job_id = store.next_id()
            store.put_job_and_append(_new_job(job_id), "requests", {"owner": "o", "id": job_id})
            ids.append(job_id)

    threads = [threading.Thread(target=work) for _ in range(6)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert len(set(ids)) == 300 and len(store) == 300
    assert sorted(e["id"] for e in store.entries("requests")) == sorted(ids)
