"""How long the mock waits before answering: ``Prefer: delay=``, rules and configured latency.

Real clients have timeouts and spinners that only a slow server exercises. A latency is
written as a small spec string, the same in the TOML file, the environment and the CLI:

* ``""`` or ``"0"``: no latency (the default; nothing is drawn from the RNG)
* ``"fixed:0.25"`` (or just ``"0.25"``): always 0.25 s
* ``"uniform:0.1,0.8"``: uniformly between 0.1 and 0.8 s
* ``"lognormal:0.3,0.5"``: log-normal with median 0.3 s and sigma 0.5 (long tail, like real APIs)

Durations are seconds, like ``eta``; a value may also carry a unit (``250ms``, ``1.5s``). Every
drawn or requested delay is capped by ``max_delay`` so a typo cannot hang a test run. Draws go
through the one seeded RNG, so a run replays exactly.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from mockserver.engine.durations import (  # noqa: F401 (the spec forms, re-exported)
    MAX_DURATION, ZERO, LatencyError, LatencySpec, parse_duration, parse_spec,
)

__all__ = ["LatencyError", "LatencyPlan", "LatencySpec", "MAX_DURATION", "ZERO", "parse_duration", "parse_spec"]


class LatencyPlan:
    """Latency by kind of request from the config: ``latency`` for all, ``latency_<kind>`` overrides.

    Kinds: ``generate`` (every operation that makes a job), ``fetch`` (every fetch operation),
    ``image`` (output file GETs); any other kind (the generic behaviour) gets ``latency``.
    """

    def __init__(self, default: str | None, per_group: dict[str, str | None], max_delay: float,
                 draw: Callable[[Callable[[random.Random], Any]], Any]):
        base = self._base = parse_spec(default)
        self.max_delay = max_delay
        self._draw = draw
        self.specs = {group: (parse_spec(text, f"latency_{group}") if text else base)
                      for group, text in per_group.items()}

    def sample(self, operation: str) -> float:
        """A delay for one request of a kind (no RNG draw when its latency is zero)."""
        spec = self.specs.get(operation, self._base)
        if spec.is_zero:
            return 0.0
        if spec.kind == "fixed":
            return self.cap(spec.a)
        return self.cap(self._draw(spec.draw))

    def cap(self, seconds: float) -> float:
        return min(max(0.0, seconds), self.max_delay)
