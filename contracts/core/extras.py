"""Optional dependencies and the one-line hint when one is missing.

The base package is the mock server. ``contracts run``, client fuzzing and Hypothesis profiles
need the ``contracts`` extra (Hypothesis, Schemathesis, pytest); the Redis store needs ``redis``.
``require`` imports a module or raises ``MissingExtra``, whose message names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtra", "hint", "require"]

#: Top-level module -> the extra that installs it.
EXTRAS = {"hypothesis": "contracts", "schemathesis": "contracts", "pytest": "contracts", "redis": "redis"}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


def hint(module: str, feature: str) -> str:
    top = module.split(".", 1)[0]
    extra = EXTRAS.get(top, "contracts")
    return f"{feature} needs {top}, which the {extra} extra installs: pip install 'modelslab-mock[{extra}]'"


def require(module: str, feature: str) -> ModuleType:
    """``import module``, or ``MissingExtra`` with the install line when it (not something else) is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = (exc.name or "").split(".", 1)[0]
        if missing and missing != module.split(".", 1)[0]:
            raise  # a different module is broken: not ours to explain
        raise MissingExtra(hint(module, feature)) from None
