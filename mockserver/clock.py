"""The mock's notion of now: wall time plus an offset that tests move forward.

Jobs finish when their eta has passed by this clock, so a test can advance time instead of
sleeping. The offset lives in the store, so every worker sharing a store sees the same time.
"""

from __future__ import annotations

import time

from mockserver.store import Store

__all__ = ["Clock"]


class Clock:
    def __init__(self, store: Store, wall=time.time):
        self._store = store
        self._wall = wall

    def now(self) -> float:
        return self._wall() + self._store.clock_offset()

    def advance(self, seconds: float) -> float:
        """Move time forward (never back) and return the new offset."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        offset = self._store.clock_offset() + seconds
        self._store.set_clock_offset(offset)
        return offset
