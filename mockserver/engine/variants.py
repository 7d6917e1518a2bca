"""Choose what an accepted request gets back: success, processing, error or failed.

In order: the ``Prefer`` header's ``Directive`` (its words are parsed and checked in
mockserver/engine/directives.py, as are the rules' and the key table's); scenario rules (applied
by the pipeline, see mockserver/control/rules.py) and any ``hooks``; the per-key table in the
config; the configured ratios, drawn from the one seeded RNG so that a run replays exactly from
``--seed``.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

from mockserver.config import MockConfig
from mockserver.engine.directives import Directive

__all__ = ["Choice", "SeededRandom", "VariantChooser"]


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


class VariantChooser:
    """Applies the order above; later layers (scenario rules) register as ``hooks``."""

    def __init__(self, config: MockConfig, rng: SeededRandom):
        self.config = config
        self.rng = rng
        self.hooks: list[Callable[[str, dict[str, Any]], Choice | None]] = []

    def from_prefer(self, directive: Directive) -> Choice | None:
        """The answer a ``Prefer`` directive picks, or None when it picks none (only delay, fault, ...)."""
        if not directive.chooses:
            return None
        variant = directive.implied_variant or "success"
        eta = directive.eta
        if variant == "processing" and eta is None:
            eta = self._draw_eta()
        return Choice(
            variant=variant,
            eta=eta,
            outcome=directive.outcome or "success",
            error=directive.error,
            code=directive.code,
            example=directive.example,
            dynamic=bool(directive.dynamic),
            dynamic_seed=directive.seed,
            source="prefer",
        )

    def from_key(self, key: str) -> Choice | None:
        rule = self.config.key_rule(key)
        directive = rule.directive if rule is not None else None
        if directive is None or not directive.chooses:
            return None
        base = self.from_ratios()
        variant = directive.implied_variant or base.variant
        eta = directive.eta if directive.eta is not None else (base.eta if variant == "processing" else None)
        if variant == "processing" and eta is None:
            eta = self._draw_eta()
        return replace(base, variant=variant, eta=eta, outcome=directive.outcome or base.outcome,
                       error=directive.error, source="key")

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

    def choose(self, prefer: Directive, key: str, body: dict[str, Any]) -> Choice:
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
