"""The in-memory store: jobs, ids, logs, rules and namespaces, each capped."""

from __future__ import annotations

import threading

from mockserver.state.jobs import Job
from mockserver.state.store import FIRST_JOB_ID, MemoryStore


def job(job_id: int, owner: str = "a", prefix: str | None = None) -> Job:
    return Job(id=job_id, owner=owner, created_at=0.0, ready_at=5.0, outcome="success",
               file_prefix=prefix or f"p{job_id}", samples=1, width=512, height=512, seed=1,
               generation_time=1.0, meta={})


def test_ids_are_unique_under_concurrency():
    store = MemoryStore()
    ids: list[int] = []
    threads = [threading.Thread(target=lambda: ids.extend(store.next_id() for _ in range(500))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 4000 and min(ids) > FIRST_JOB_ID


def test_jobs_by_id_and_prefix_with_the_oldest_dropped_past_the_cap():
    store = MemoryStore(max_jobs=2)
    for i in (1, 2, 3):
        store.put_job(job(i))
    assert store.get_job(1) is None and store.get_job_by_prefix("p1") is None
    assert store.get_job(3).file_prefix == "p3" and store.get_job_by_prefix("p2").id == 2


def test_job_state_comes_from_the_clock():
    j = job(1)
    assert j.status(4.9) == "processing" and j.remaining(4.0) == 1.0
    assert j.status(5.0) == "success" and j.remaining(9.0) == 0.0
    assert Job.from_dict(j.to_dict()) == j


def test_logs_keep_sequence_numbers_and_a_cap():
    store = MemoryStore(max_log_entries=3)
    for i in range(5):
        store.append("journal", {"i": i})
    assert [e["i"] for e in store.entries("journal")] == [2, 3, 4]
    assert [e["seq"] for e in store.entries("journal", since=4)] == [5]
    assert store.entries("other") == []


def test_rules_are_consumed_atomically():
    store = MemoryStore()
    store.put_rule({"id": "r", "times": 100})
    store.put_rule({"id": "forever", "times": None})
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.extend(store.consume_rule("r") for _ in range(50)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 100
    assert store.consume_rule("forever") and not store.consume_rule("missing")


def test_reset_of_one_namespace_leaves_the_others():
    store = MemoryStore()
    store.put_job(job(1, owner="a"))
    store.put_job(job(2, owner="b"))
    store.append("journal", {"owner": "a"})
    store.append("journal", {"owner": "b"})
    store.put_rule({"id": "ra", "owner": "a"})
    store.set_clock_offset(10, "a")
    store.reset("a")
    assert store.get_job(1) is None and store.get_job_by_prefix("p1") is None and store.get_job(2) is not None
    assert [e["owner"] for e in store.entries("journal")] == ["b"]
    assert store.rules() == [] and store.clock_offset("a") == 0.0
    store.reset()
    assert store.get_job(2) is None and store.next_id() == FIRST_JOB_ID + 1
