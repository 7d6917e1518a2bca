"""The mock's notion of now: wall time plus offsets that tests move forward.

Jobs finish when their eta has passed by this clock, so a test can advance time instead of
sleeping. Offsets live in the store, so every worker sharing a store sees the same time; there
is one for everyone and one per namespace (API key), so parallel test workers using different
keys can move their own time without finishing each other's jobs.
"""

from __future__ import annotations

import time

from mockserver.state.store import Store

__all__ = ["Clock"]


class Clock:
    def __init__(self, store: Store, wall=time.time):
        self._store = store
        self._wall = wall

    def now(self, owner: str = "") -> float:
        offset = self._store.clock_offset()
        if owner:
            offset += self._store.clock_offset(owner)
        return self._wall() + offset

    def advance(self, seconds: float, owner: str = "") -> float:
        """Move time forward (never back) for everyone or one namespace; returns that offset."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        offset = self._store.clock_offset(owner) + seconds
        self._store.set_clock_offset(offset, owner)
        return offset
