"""The mock clock moves forward for everyone or for one key's namespace."""

from __future__ import annotations

import pytest

from mockserver.state.clock import Clock
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
