"""Durations and latency specs, as every setting and directive writes them (``250ms``, ``1.5s``,
``fixed:0.25``, ``uniform:0.1,0.8``, ``lognormal:0.3,0.5``), parsed and bounded in one place.

``mockserver.control.latency`` draws delays from these specs; the config, the directives and the
rules only parse and check them, so they live here, below all three.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["LatencyError", "LatencySpec", "MAX_DURATION", "ZERO", "parse_duration", "parse_spec"]

#: The longest duration anything accepts (an eta, a delay, a latency bound): ten years. Far
#: beyond any test, and small enough that adding it to a clock never leaves the float range.
MAX_DURATION = 10 * 365.25 * 86_400.0

_DURATION_RE = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>ms|s)?\s*$")
_KINDS = ("fixed", "uniform", "lognormal")


class LatencyError(ValueError):
    """A latency or delay the mock cannot use; the message shows the accepted forms."""


def parse_duration(text: Any, what: str = "delay") -> float:
    """``"250ms"`` -> 0.25, ``"1.5s"`` / ``"1.5"`` / ``1.5`` -> 1.5 (seconds), finite and >= 0."""
    if isinstance(text, bool):
        raise LatencyError(f"{what} must be a duration in seconds (e.g. 0.5, 500ms, 2s), not {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _DURATION_RE.match(str(text))
        if match is None:
            raise LatencyError(f"{what} must be a duration in seconds (e.g. 0.5, 500ms, 2s), not {str(text)[:40]!r}")
        value = float(match["number"]) / (1000.0 if match["unit"] == "ms" else 1.0)
    if not math.isfinite(value) or value < 0:
        raise LatencyError(f"{what} must be a finite duration >= 0, not {str(text)[:40]!r}")
    if value > MAX_DURATION:
        raise LatencyError(f"{what} must be at most {MAX_DURATION:.0f} seconds (ten years), not {str(text)[:40]!r}")
    return value


@dataclass(frozen=True)
class LatencySpec:
    """One latency distribution; ``draw`` takes the RNG so the caller decides which one."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.kind == "fixed" and self.a == 0.0

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return self.a * math.exp(rng.gauss(0.0, self.b))

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.a:g}"
        return f"{self.kind}:{self.a:g},{self.b:g}"


ZERO = LatencySpec()


def parse_spec(text: str | None, what: str = "latency") -> LatencySpec:
    """Parse a latency spec string (see the module docstring); raises ``LatencyError``."""
    if text is None:
        return ZERO
    text = str(text).strip()
    if not text:
        return ZERO
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep:
        return LatencySpec("fixed", parse_duration(text, what))
    if kind not in _KINDS:
        raise LatencyError(f"{what}: unknown distribution {kind!r}; use fixed:S, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA")
    parts = [p for p in rest.split(",")]
    if kind == "fixed":
        if len(parts) != 1:
            raise LatencyError(f"{what}: fixed takes one duration, e.g. fixed:0.25")
        return LatencySpec("fixed", parse_duration(parts[0], what))
    if len(parts) != 2:
        raise LatencyError(f"{what}: {kind} takes two numbers, e.g. {kind}:0.1,0.8")
    a = parse_duration(parts[0], what)
    if kind == "uniform":
        b = parse_duration(parts[1], what)
        if b < a:
            raise LatencyError(f"{what}: uniform needs MIN <= MAX, got {a:g} and {b:g}")
        return LatencySpec("uniform", a, b)
    try:
        sigma = float(parts[1])
    except ValueError:
        raise LatencyError(f"{what}: lognormal sigma must be a number, not {parts[1]!r}") from None
    if not math.isfinite(sigma) or sigma < 0 or sigma > 5:
        raise LatencyError(f"{what}: lognormal sigma must be between 0 and 5, not {parts[1]!r}")
    return LatencySpec("lognormal", a, sigma)
