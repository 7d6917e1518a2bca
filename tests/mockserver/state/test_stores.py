"""One contract for every store: memory, SQLite and (when one is reachable) Redis behave alike.

Every test here runs against each backend through the ``store`` fixture, so a backend that
drifts from the protocol in mockserver/web/context/store.py fails the same test the others pass. The
factory ``open_store`` is tested at the end.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Callable

import pytest

from mockserver.config import MockConfig
from mockserver.state.jobs import Job
from mockserver.state.store import FIRST_JOB_ID, MemoryStore
from mockserver.state.sqlite_store import SqliteStore
from mockserver.state.stores import StoreError, open_store, sqlite_path

REDIS_URL = os.environ.get("MOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis to test against
        pytest.skip(f"no Redis reachable at {REDIS_URL} ({type(exc).__name__}); "
                    "set MOCK_TEST_REDIS_URL or run: apt-get install -y redis-server")


class FakeWall:
    """Real time for stores, moved by hand, so TTLs are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request, tmp_path) -> Callable[..., object]:
    """``make_store(max_jobs=..., job_ttl=..., wall=...)`` for the backend under test."""
    made = []
    prefix = f"mock-test-{uuid.uuid4().hex[:12]}:"
    if request.param == "redis":
        _redis_or_skip()

    def factory(**kwargs):
        if request.param == "memory":
            store = MemoryStore(**kwargs)
        elif request.param == "sqlite":
            store = SqliteStore(tmp_path / "state" / "mock.sqlite3", **kwargs)
        else:
            from mockserver.state.redis_store import RedisStore

            store = RedisStore(REDIS_URL, prefix=prefix, **kwargs)
        made.append(store)
        return store

    factory.backend = request.param  # type: ignore[attr-defined]
    yield factory
    for store in made:
        if request.param == "redis":
            store.reset()
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


def job(job_id: int, owner: str = "owner-a", **changes) -> Job:
    base = Job(
        id=job_id, owner=owner, created_at=1.0, ready_at=2.0, outcome="success",
        file_prefix=f"{job_id:08d}-0000-4000-8000-000000000000", samples=1, width=512, height=512,
        seed=42, generation_time=1.5, meta={"prompt": "a cat", "W": 512, "nested": {"a": [1, 2.5, None]}},
        render={"prompt": "a cat", "init_image": None},
    )
    return replace(base, **changes)


# -- jobs ---------------------------------------------------------------------------------------


def test_ids_count_up_from_the_first_job_id(store):
    assert [store.next_id() for _ in range(3)] == [FIRST_JOB_ID + 1, FIRST_JOB_ID + 2, FIRST_JOB_ID + 3]


def test_ids_stay_unique_when_threads_race(store):
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [store.next_id() for _ in range(40)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(FIRST_JOB_ID + 1, FIRST_JOB_ID + 161))


def test_a_job_comes_back_equal_by_id_and_by_file_prefix(store):
    stored = job(7)
    store.put_job(stored)
    assert store.get_job(7) == stored
    assert store.get_job_by_prefix(stored.file_prefix) == stored
    assert store.get_job(8) is None
    assert store.get_job_by_prefix("no-such-prefix") is None


def test_putting_a_job_again_replaces_it(store):
    store.put_job(job(7))
    store.put_job(job(7, webhook_status="success"))
    assert store.get_job(7).webhook_status == "success"


def test_integers_wider_than_64_bits_survive_exactly(store):
    store.put_job(job(7, seed=10**30, meta={"seed": -(10**25)}))
    back = store.get_job(7)
    assert back.seed == 10**30 and back.meta == {"seed": -(10**25)}


def test_the_cap_drops_the_oldest_jobs_first(make_store):
    store = make_store(max_jobs=3)
    for i in range(1, 6):
        store.put_job(job(i))
    assert [store.get_job(i) is not None for i in range(1, 6)] == [False, False, True, True, True]
    assert store.get_job_by_prefix(job(1).file_prefix) is None
    assert store.get_job_by_prefix(job(5).file_prefix) == job(5)


def test_jobs_expire_after_their_ttl(make_store):
    if make_store.backend == "redis":  # Redis expires keys by its own clock: use a short real TTL
        store = make_store(job_ttl=0.2)
        store.put_job(job(1))
        assert store.get_job(1) == job(1)
        time.sleep(0.3)
    else:
        wall = FakeWall()
        store = make_store(job_ttl=10.0, wall=wall)
        store.put_job(job(1))
        wall.now += 9.0
        store.put_job(job(2))
        assert store.get_job(1) == job(1)
        wall.now += 2.0
        assert store.get_job(2) == job(2)
    assert store.get_job(1) is None
    assert store.get_job_by_prefix(job(1).file_prefix) is None


def test_without_a_ttl_jobs_are_kept(make_store):
    wall = FakeWall()
    store = make_store(wall=wall)
    store.put_job(job(1))
    wall.now += 10 * 365 * 86_400
    assert store.get_job(1) == job(1)


# -- clock --------------------------------------------------------------------------------------


def test_clock_offsets_are_per_namespace(store):
    assert store.clock_offset() == 0.0 and store.clock_offset("a") == 0.0
    store.set_clock_offset(30.5)
    store.set_clock_offset(2.0, "a")
    assert (store.clock_offset(), store.clock_offset("a"), store.clock_offset("b")) == (30.5, 2.0, 0.0)


# -- logs ---------------------------------------------------------------------------------------


def test_logs_number_their_entries_and_filter_by_sequence(store):
    assert [store.append("journal", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert store.append("webhooks", {"n": "w"}) == 1
    assert store.entries("journal") == [{"n": 0, "seq": 1}, {"n": 1, "seq": 2}, {"n": 2, "seq": 3}]
    assert store.entries("journal", since=2) == [{"n": 2, "seq": 3}]
    assert store.entries("webhooks") == [{"n": "w", "seq": 1}]
    assert store.entries("nothing") == []


def test_logs_keep_only_the_newest_entries(make_store):
    store = make_store(max_log_entries=3)
    for i in range(5):
        store.append("journal", {"n": i})
    assert [e["seq"] for e in store.entries("journal")] == [3, 4, 5]


def test_log_sequence_numbers_stay_unique_when_threads_race(store):
    seqs: list[int] = []
    lock = threading.Lock()

    def write() -> None:
        mine = [store.append("journal", {"owner": "x"}) for _ in range(25)]
        with lock:
            seqs.extend(mine)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 101))
    assert [e["seq"] for e in store.entries("journal")] == list(range(1, 101))


# -- rules --------------------------------------------------------------------------------------


def test_rules_keep_their_order_and_a_replaced_rule_its_place(store):
    store.put_rule({"id": "a", "variant": "error"})
    store.put_rule({"id": "b", "variant": "processing", "times": 2})
    store.put_rule({"id": "a", "variant": "failed"})
    assert store.rules() == [{"id": "a", "variant": "failed"}, {"id": "b", "variant": "processing", "times": 2}]


def test_a_rule_is_used_only_as_often_as_allowed(store):
    store.put_rule({"id": "twice", "times": 2})
    store.put_rule({"id": "always"})
    assert [store.consume_rule("twice") for _ in range(3)] == [True, True, False]
    assert all(store.consume_rule("always") for _ in range(5))
    assert store.consume_rule("missing") is False
    assert {r["id"]: r.get("times") for r in store.rules()} == {"twice": 0, "always": None}


def test_rule_uses_are_atomic_when_threads_race(store):
    store.put_rule({"id": "limited", "times": 30})
    taken: list[bool] = []
    lock = threading.Lock()

    def use() -> None:
        mine = [store.consume_rule("limited") for _ in range(15)]
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert taken.count(True) == 30


def test_delete_rule_removes_one_rule_and_says_whether_it_was_there(store):
    store.put_rule({"id": "a", "times": 1})
    store.put_rule({"id": "b"})
    assert store.delete_rule("a") is True
    assert store.delete_rule("a") is False
    assert [r["id"] for r in store.rules()] == ["b"] and store.consume_rule("a") is False
    store.put_rule({"id": "a"})
    assert [r["id"] for r in store.rules()] == ["b", "a"], "a rule added again goes to the end"


def test_delete_rules_forgets_them_all(store):
    store.put_rule({"id": "a"})
    store.delete_rules()
    assert store.rules() == [] and store.consume_rule("a") is False


# -- reset --------------------------------------------------------------------------------------


def _fill(store) -> None:
    for i, owner in ((1, "a"), (2, "b")):
        store.put_job(job(i, owner=owner))
        store.append("journal", {"owner": owner, "n": i})
        store.put_rule({"id": f"rule-{owner}", "owner": owner})
        store.set_clock_offset(float(i), owner)


def test_reset_of_one_namespace_leaves_the_others_alone(store):
    _fill(store)
    store.reset("a")
    assert store.get_job(1) is None and store.get_job_by_prefix(job(1).file_prefix) is None
    assert store.get_job(2) == job(2, owner="b")
    assert store.entries("journal") == [{"owner": "b", "n": 2, "seq": 2}]
    assert [r["id"] for r in store.rules()] == ["rule-b"]
    assert (store.clock_offset("a"), store.clock_offset("b")) == (0.0, 2.0)


def test_reset_forgets_everything_and_ids_start_again(store):
    _fill(store)
    store.set_clock_offset(5.0)
    store.next_id()
    store.reset()
    assert store.get_job(2) is None and store.entries("journal") == [] and store.rules() == []
    assert store.clock_offset() == 0.0 and store.clock_offset("b") == 0.0
    assert store.next_id() == FIRST_JOB_ID + 1


# -- the queue limit ----------------------------------------------------------------------------


def test_queued_jobs_count_per_namespace_until_they_are_done(store):
    assert store.queue_count("a", 0.0) == (0, None)
    store.queue_add("a", 1, 10.0, 0.0)
    store.queue_add("a", 2, 5.0, 0.0)
    store.queue_add("b", 3, 50.0, 0.0)
    assert store.queue_count("a", 0.0) == (2, 5.0)
    assert store.queue_count("a", 5.0) == (1, 10.0)  # ready_at 5.0 is done at 5.0
    assert store.queue_count("a", 10.0) == (0, None)
    assert store.queue_count("b", 10.0) == (1, 50.0)
    store.queue_add("a", 1, 20.0, 10.0)  # the same job again: replaced, not counted twice
    store.queue_add("a", 1, 30.0, 10.0)
    assert store.queue_count("a", 10.0) == (1, 30.0)


def test_a_reset_empties_the_queue_of_its_namespace_or_all(store):
    store.queue_add("a", 1, 10.0, 0.0)
    store.queue_add("b", 2, 10.0, 0.0)
    store.reset("a")
    assert store.queue_count("a", 0.0) == (0, None) and store.queue_count("b", 0.0) == (1, 10.0)
    store.reset()
    assert store.queue_count("b", 0.0) == (0, None)


# -- the factory --------------------------------------------------------------------------------


def test_open_store_reads_every_spelling(tmp_path):
    config = MockConfig(max_jobs=7, job_ttl=5.0, state=str(tmp_path / "st"))
    memory = open_store("memory", config)
    assert isinstance(memory, MemoryStore) and memory.max_jobs == 7 and memory.job_ttl == 5.0
    default = open_store("sqlite", config)
    assert isinstance(default, SqliteStore) and default.path == str(tmp_path / "st" / "mock.sqlite3")
    explicit = open_store(f"sqlite:///{tmp_path}/other.db", config)
    assert explicit.path == f"{tmp_path}/other.db" and explicit.max_jobs == 7
    for store in (default, explicit):
        store.close()


def test_sqlite_urls_follow_sqlalchemy():
    assert sqlite_path("sqlite:///state/x.db") == "state/x.db"
    assert sqlite_path("sqlite:////tmp/x.db") == "/tmp/x.db"
    assert sqlite_path("sqlite", "/var/mock") == "/var/mock/mock.sqlite3"


@pytest.mark.parametrize("name", ["", "postgres://x", "sqlite:///", "sqlite://x", "mem"])
def test_open_store_names_what_it_accepts(name):
    with pytest.raises(StoreError, match="sqlite"):
        open_store(name, MockConfig())


def test_an_unreachable_redis_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError) as info:
        open_store("redis://user:s3cret@127.0.0.1:1/0", MockConfig())
    assert "cannot reach the Redis store" in str(info.value) and "s3cret" not in str(info.value)


def test_an_unwritable_sqlite_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        open_store(f"sqlite:///{blocker}/x.db", MockConfig())
