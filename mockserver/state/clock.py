"""The mock's notion of now: wall time plus offsets that tests move forward.

Jobs finish when their eta has passed by this clock, so a test can advance time instead of
sleeping. Offsets live in the store, so every worker sharing a store sees the same time; there
is one for everyone and one per namespace (API key), so parallel test workers using different
keys can move their own time without finishing each other's jobs.
"""

from __future__ import annotations

import time

from mockserver.state.store import Store

__all__ = ["Clock", "ClockError", "MAX_ADVANCE", "MAX_OFFSET"]

#: One advance moves the clock at most ten years; all advances together (everyone's offset plus
#: a key's own) at most a hundred. The clock stays a finite, printable number.
MAX_ADVANCE = 10 * 365.25 * 86_400.0
MAX_OFFSET = 10 * MAX_ADVANCE


class ClockError(ValueError):
    """An advance the clock refuses; the message says the limit."""


def _bounded(offset: float) -> float:
    """An offset as the clock uses it: an infinite, NaN or negative one (a store written before
    the limits, or edited by hand) counts as the limit or as none."""
    if 0.0 <= offset <= MAX_OFFSET:
        return offset
    return MAX_OFFSET if offset > MAX_OFFSET else 0.0


class Clock:
    def __init__(self, store: Store, wall=time.time):
        self._store = store
        self._wall = wall

    def now(self, owner: str = "") -> float:
        offset = self._store.clock_offset()
        if owner:
            offset += self._store.clock_offset(owner)
        return self._wall() + _bounded(offset)

    def offset(self, owner: str = "") -> float:
        """The offset of one namespace ("" = everyone's), as the clock counts it."""
        return _bounded(self._store.clock_offset(owner))

    def advance(self, seconds: float, owner: str = "") -> float:
        """Move time forward (never back) for everyone or one namespace; returns that offset.

        ``ClockError`` when ``seconds`` is negative, not finite or more than ``MAX_ADVANCE``, or
        when the clock would end up more than ``MAX_OFFSET`` ahead (a reset starts over)."""
        if not 0.0 <= seconds <= MAX_ADVANCE:  # NaN fails this too
            raise ClockError(f"advance must be a number of seconds from 0 to at most {MAX_ADVANCE:.0f} (ten years)")
        own = self._store.clock_offset(owner)
        total = own + seconds + (self._store.clock_offset() if owner else 0.0)
        if not total <= MAX_OFFSET:
            raise ClockError(f"the clock would be more than {MAX_OFFSET:.0f} seconds (a hundred years) ahead, "
                             f"at most; reset it (POST /__mock/reset) to start over")
        offset = _bounded(own) + seconds
        self._store.set_clock_offset(offset, owner)
        return offset
