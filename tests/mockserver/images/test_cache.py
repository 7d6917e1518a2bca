"""ImageCache: byte-bounded LRU, shared between threads."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.images.cache import ImageCache


def test_get_put_and_stats():
    cache = ImageCache(100)
    assert cache.get("a") is None
    cache.put("a", b"12345")
    assert cache.get("a") == b"12345"
    assert "a" in cache and len(cache) == 1
    assert cache.stats() == {"items": 1, "bytes": 5, "max_bytes": 100, "hits": 1, "misses": 1, "evictions": 0}


def test_evicts_least_recently_used_past_the_budget():
    cache = ImageCache(10)
    cache.put("a", b"aaaa")
    cache.put("b", b"bbbb")
    cache.get("a")  # a is now the most recent
    cache.put("c", b"cccc")
    assert cache.get("b") is None
    assert cache.get("a") == b"aaaa" and cache.get("c") == b"cccc"
    assert cache.stats()["evictions"] == 1 and cache.stats()["bytes"] == 8


def test_replacing_a_key_updates_the_size():
    cache = ImageCache(10)
    cache.put("a", b"123456")
    cache.put("a", b"12")
    assert cache.stats()["bytes"] == 2 and len(cache) == 1


def test_item_larger_than_budget_is_not_stored_and_evicts_nothing():
    cache = ImageCache(10)
    cache.put("small", b"1234")
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None and cache.get("small") == b"1234"


def test_oversized_replacement_drops_the_old_value():
    cache = ImageCache(10)
    cache.put("a", b"1234")
    cache.put("a", b"x" * 11)
    assert cache.get("a") is None and cache.stats()["bytes"] == 0


def test_zero_budget_stores_nothing_and_negative_is_rejected():
    cache = ImageCache(0)
    cache.put("a", b"1")
    assert cache.get("a") is None
    with pytest.raises(ValueError):
        ImageCache(-1)


def test_stores_an_immutable_copy():
    cache = ImageCache(100)
    buffer = bytearray(b"abc")
    cache.put("a", buffer)
    buffer[0] = ord("z")
    assert cache.get("a") == b"abc"


def test_clear():
    cache = ImageCache(100)
    cache.put("a", b"1")
    cache.clear()
    assert len(cache) == 0 and cache.stats()["bytes"] == 0


def test_thread_safety_keeps_the_accounting_exact():
    cache = ImageCache(5000)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(2000):
                key = f"k{(i * 7 + n) % 60}"
                if i % 3:
                    cache.put(key, bytes(((i + n) % 200) + 1))
                else:
                    cache.get(key)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = cache.stats()
    total = sum(len(cache._items[k]) for k in list(cache._items))
    assert stats["bytes"] == total <= 5000


operations = st.lists(
    st.tuples(st.sampled_from(["get", "put"]), st.sampled_from("abcdef"), st.integers(0, 12)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(budget=st.integers(0, 30), ops=operations)
def test_property_matches_a_reference_lru(budget, ops):
    cache, model = ImageCache(budget), OrderedDict()
    for op, key, size in ops:
        if op == "get":
            expected = model.get(key)
            if expected is not None:
                model.move_to_end(key)
            assert cache.get(key) == expected
        else:
            data = key.encode() * size
            model.pop(key, None)
            if len(data) <= budget:
                model[key] = data
                while sum(map(len, model.values())) > budget:
                    model.popitem(last=False)
            cache.put(key, data)
        assert cache.stats()["bytes"] == sum(map(len, model.values())) <= budget
        assert len(cache) == len(model)
