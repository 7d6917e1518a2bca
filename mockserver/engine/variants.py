"""Choose what an accepted request gets back: success, processing, error or failed.

In order: the ``Prefer`` header (Prism's ``code=``, ``example=``, ``dynamic=``, ``seed=``, plus
``variant=``, ``eta=``, ``outcome=`` and ``error=``); scenario rules (applied by the pipeline,
see mockserver/control/rules.py) and any ``hooks``; the per-key table in the config; the configured
ratios, drawn from the one seeded RNG so that a run replays exactly from ``--seed``. ``Prefer``
also takes ``delay=`` (seconds, or ``250ms``), ``fault=`` (mockserver/control/faults.py) and
``webhook=deliver|drop|duplicate``, which the pipeline acts on.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

from mockserver.config import VARIANTS, MockConfig
from mockserver.control.latency import MAX_DURATION

__all__ = ["CHOICE_WORDS", "Choice", "PreferError", "SeededRandom", "VariantChooser", "parse_prefer"]

_PREFER_KEYS = {"code", "example", "dynamic", "seed", "variant", "eta", "outcome", "error", "delay", "fault", "webhook"}

#: Prefer words that choose the answer themselves (scenario rules and random faults then stay out).
CHOICE_WORDS = frozenset({"code", "example", "dynamic", "variant", "eta", "outcome", "error"})


class PreferError(ValueError):
    """A ``Prefer`` header the mock cannot honour; the message says what it accepts."""


@dataclass(frozen=True)
class Choice:
    variant: str = "success"
    eta: float | None = None
    outcome: str = "success"
    error: str | None = None
    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    dynamic_seed: int | None = None
    source: str = "ratio"


class SeededRandom:
    """The one RNG of a mock process: every draw goes through it, under a lock."""

    def __init__(self, seed: int | None):
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, fn: Callable[[random.Random], Any]) -> Any:
        with self._lock:
            return fn(self._rng)

    def reseed(self, seed: int | None = None) -> None:
        with self._lock:
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)


def parse_prefer(header: str | None) -> dict[str, str]:
    """``Prefer: code=200, variant=processing, eta=3`` -> dict; unknown words are an error."""
    found: dict[str, str] = {}
    if not header:
        return found
    for part in header.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in _PREFER_KEYS:
            raise PreferError(f"Prefer: unknown preference {name!r}; known: {', '.join(sorted(_PREFER_KEYS))}")
        found[name] = value.strip().strip('"')
    return found


def _number(prefer: dict[str, str], name: str) -> float | None:
    if name not in prefer:
        return None
    try:
        value = float(prefer[name])
    except ValueError:
        raise PreferError(f"Prefer: {name} must be a number of seconds, not {prefer[name]!r}") from None
    if not math.isfinite(value) or value < 0:
        raise PreferError(f"Prefer: {name} must be a finite number >= 0")
    if value > MAX_DURATION:
        raise PreferError(f"Prefer: {name} must be at most {MAX_DURATION:.0f} seconds (ten years)")
    return value


class VariantChooser:
    """Applies the order above; later layers (scenario rules) register as ``hooks``."""

    def __init__(self, config: MockConfig, rng: SeededRandom):
        self.config = config
        self.rng = rng
        self.hooks: list[Callable[[str, dict[str, Any]], Choice | None]] = []

    def from_prefer(self, prefer: dict[str, str]) -> Choice | None:
        if not prefer.keys() & CHOICE_WORDS:
            return None
        variant = prefer.get("variant")
        if variant is not None and variant not in VARIANTS:
            raise PreferError(f"Prefer: variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
        eta = _number(prefer, "eta")
        outcome = prefer.get("outcome", "success")
        if outcome not in ("success", "failed"):
            raise PreferError("Prefer: outcome must be success or failed")
        code = None
        if "code" in prefer:
            try:
                code = int(prefer["code"])
            except ValueError:
                raise PreferError(f"Prefer: code must be an HTTP status, not {prefer['code']!r}") from None
        dynamic = prefer.get("dynamic", "false").lower() == "true"
        seed = prefer.get("seed")
        if variant is None:
            variant = "processing" if eta is not None else ("error" if "error" in prefer else "success")
        if variant == "processing" and eta is None:
            eta = self._draw_eta()
        return Choice(
            variant=variant,
            eta=eta,
            outcome=outcome,
            error=prefer.get("error"),
            code=code,
            example=prefer.get("example"),
            dynamic=dynamic,
            dynamic_seed=int(seed) if seed and seed.lstrip("-").isdigit() else None,
            source="prefer",
        )

    def from_key(self, key: str) -> Choice | None:
        rule = self.config.key_rule(key)
        if rule is None or (rule.variant is None and rule.outcome is None and rule.eta is None):
            return None
        base = self.from_ratios()
        variant = rule.variant or ("processing" if rule.eta is not None else base.variant)
        eta = rule.eta if rule.eta is not None else (base.eta if variant == "processing" else None)
        if variant == "processing" and eta is None:
            eta = self._draw_eta()
        return replace(base, variant=variant, eta=eta, outcome=rule.outcome or base.outcome,
                       error=rule.error, source="key")

    def from_ratios(self) -> Choice:
        cfg = self.config

        def pick(rng: random.Random) -> Choice:
            u = rng.random()
            failed = rng.random() < cfg.failed_ratio
            outcome = "failed" if failed else "success"
            if u < cfg.error_ratio:
                return Choice(variant="error", error="rate_limit")
            if u < cfg.error_ratio + cfg.processing_ratio:
                return Choice(variant="processing", eta=self._eta(rng), outcome=outcome)
            return Choice(variant="failed" if failed else "success", outcome=outcome)

        return self.rng.draw(pick)

    def choose(self, prefer: dict[str, str], key: str, body: dict[str, Any]) -> Choice:
        chosen = self.from_prefer(prefer)
        if chosen is not None:
            return chosen
        for hook in self.hooks:
            chosen = hook(key, body)
            if chosen is not None:
                return chosen
        return self.from_key(key) or self.from_ratios()

    def _draw_eta(self) -> float:
        return self.rng.draw(self._eta)

    def _eta(self, rng: random.Random) -> float:
        lo, hi = self.config.eta_min, self.config.eta_max
        if self.config.eta_distribution == "loguniform" and lo > 0:
            return math.exp(rng.uniform(math.log(lo), math.log(hi)))
        return rng.uniform(lo, hi)
