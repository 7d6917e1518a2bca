"""The mock clock moves forward for everyone or for one key's namespace."""

from __future__ import annotations

import pytest

from mockserver.state.clock import MAX_OFFSET, Clock
from mockserver.state.store import MemoryStore


def test_offsets_add_up_and_namespaces_are_separate():
    clock = Clock(MemoryStore(), wall=lambda: 1000.0)
    clock.advance(5)
    clock.advance(10, owner="a")
    assert clock.now() == 1005.0
    assert clock.now("a") == 1015.0
    assert clock.now("b") == 1005.0


def test_the_clock_never_goes_back():
    with pytest.raises(ValueError):
        Clock(MemoryStore()).advance(-1)


def test_the_refusal_says_what_an_advance_may_be():
    with pytest.raises(ValueError, match=r"^advance must be a number of seconds from 0 to at most 315576000 \(ten years\)$"):
        Clock(MemoryStore()).advance(-0.001)


@pytest.mark.parametrize("seconds", [0, 0.5])
def test_advancing_by_zero_or_part_of_a_second_is_allowed(seconds):
    """POST /mock/clock {"advance": 0} and {"advance": 0.5} are valid requests (admin accepts >= 0)."""
    clock = Clock(MemoryStore(), wall=lambda: 100.0)
    assert clock.advance(seconds) == seconds
    assert clock.now() == 100.0 + seconds


def test_a_namespace_moves_on_from_its_own_offset_not_the_global_one():
    clock = Clock(MemoryStore(), wall=lambda: 0.0)
    clock.advance(100)
    assert clock.advance(3, owner="a") == 3
    assert clock.advance(4, owner="a") == 7, "the namespace's offsets add up"
    assert clock.now("a") == 107.0 and clock.now() == 100.0


def test_offset_reads_everyones_or_one_namespaces():
    clock = Clock(MemoryStore(), wall=lambda: 0.0)
    clock.advance(5)
    clock.advance(2, owner="a")
    assert (clock.offset(), clock.offset("a"), clock.offset("b")) == (5.0, 2.0, 0.0)


@pytest.mark.parametrize("stored, counted", [
    (float("inf"), MAX_OFFSET), (MAX_OFFSET * 3, MAX_OFFSET), (-5.0, 0.0), (float("nan"), 0.0)])
def test_an_offset_out_of_range_in_the_store_counts_as_the_limit_or_as_none(stored, counted):
    """A store written before the limits existed, or edited by hand, cannot push now() past them."""
    store = MemoryStore()
    store.set_clock_offset(stored)
    clock = Clock(store, wall=lambda: 1000.0)
    assert clock.offset() == counted and clock.now() == 1000.0 + counted
