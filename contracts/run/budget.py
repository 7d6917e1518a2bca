"""A hard cap on calls to a paid API, announced as it is spent.

Real-API contract runs cost credits. Every call to the real API goes through one ``CallBudget``;
it prints ``real API call 2/5: POST /inpaint`` before each call and refuses the call after the
last one (``BudgetSpent``), which the suite turns into a skipped test with that reason. The cap
is checked before the request is sent, so it can never be exceeded, even by retries.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Mapping

from contracts.core.transport import HttpResponse, Transport

__all__ = ["BudgetSpent", "BudgetTransport", "CallBudget", "DEFAULT_REAL_BUDGET", "announce_uncaptured"]

DEFAULT_REAL_BUDGET = 5


class BudgetSpent(RuntimeError):
    """The call budget is used up; the message says how much was spent and what was not sent."""


def _announce(line: str) -> None:
    # Straight to the real stderr: pytest's capture must not hide what is being spent.
    print(line, file=sys.__stderr__ or sys.stderr, flush=True)


def announce_uncaptured(config: Any) -> Callable[[str], None]:
    """An announcer for inside pytest: suspends output capture so the line reaches the terminal."""

    def announce(line: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is None:
            _announce(line)
            return
        with capman.global_and_fixture_disabled():
            print(line, file=sys.stderr, flush=True)

    return announce


class CallBudget:
    def __init__(self, limit: int = DEFAULT_REAL_BUDGET, announce: Callable[[str], None] = _announce,
                 label: str = "real API call"):
        if limit < 0:
            raise ValueError(f"a call budget must be >= 0, not {limit}")
        self.limit = limit
        self.spent = 0
        self.label = label
        self.announce = announce  # replaceable: a pytest run routes it around output capture
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return self.limit - self.spent

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limit

    def spend(self, what: str) -> int:
        """Take one call from the budget (announcing it) or raise ``BudgetSpent``."""
        with self._lock:
            if self.spent >= self.limit:
                raise BudgetSpent(f"{self.label} budget spent ({self.spent}/{self.limit} calls used); not sending {what}")
            self.spent += 1
            spent = self.spent
        self.announce(f"{self.label} {spent}/{self.limit}: {what}")
        return spent

    def summary(self) -> str:
        return f"{self.label}s spent: {self.spent}/{self.limit}"


class BudgetTransport:
    """Charges every request under ``charged_prefix`` (the API) to the budget; others pass free."""

    def __init__(self, inner: Transport, budget: CallBudget, charged_prefix: str):
        self.inner = inner
        self.budget = budget
        self.charged_prefix = charged_prefix.rstrip("/")

    def request(self, method: str, url: str, *, json_body: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> HttpResponse:
        if url.startswith(self.charged_prefix):
            self.budget.spend(f"{method.upper()} {url[len(self.charged_prefix):] or '/'}")
        return self.inner.request(method, url, json_body=json_body, data=data, headers=headers, timeout=timeout)
