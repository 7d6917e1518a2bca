"""The contract run the suite is collected for: target, Schemathesis schema and settings.

Schemathesis's lazy ``from_fixture`` loader does not work with pytest 9, so the schema is built
before collection by the run plugin and read from here by the test module at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIVE", "SuiteRun"]


@dataclass
class SuiteRun:
    target: Any
    schema: Any
    max_examples: int = 25
    stateful_steps: int = 8
    settings: dict[str, Any] = field(default_factory=dict)


ACTIVE: SuiteRun | None = None
