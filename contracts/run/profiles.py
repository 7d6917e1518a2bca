"""Hypothesis profiles for contract runs, and where found failures are kept.

Three profiles:

* ``dev``: quick feedback on a laptop (25 examples, the Hypothesis example database in the
  user's cache folder, see ``use_cache_home``: nothing is written to the current folder);
* ``ci``: thorough (200 examples), prints reproduction blobs, and uses the configured example
  database, so a failure found on one CI machine is replayed first on every other;
* ``real-api``: one example per test, no shrinking and no database: every example costs a call
  against the budget, and a shrink would spend it on near-duplicates.

The example database is chosen by a short string (``--example-db`` or ``CONTRACTS_EXAMPLE_DB``):
``none``, ``memory``, a directory path (or ``dir:PATH``), ``redis://host:port/db`` (shared by
CI machines through ``hypothesis.extra.redis``), ``readonly:<spec>`` (use what others found, add
nothing, e.g. for pull requests from forks) and several joined by ``+`` (e.g.
``.hypothesis/examples+redis://ci-cache:6379/0``: read both, write both).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from contracts.core.extras import require

require("hypothesis", "contracts.run.profiles")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

__all__ = ["DB_ENV", "PROFILE_ENV", "PROFILES", "example_database", "load_profile", "register_profiles",
           "use_cache_home"]

PROFILE_ENV = "CONTRACTS_PROFILE"
DB_ENV = "CONTRACTS_EXAMPLE_DB"
REDIS_PREFIX = b"modelslab-contracts:"

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 25, "deadline": None, "print_blob": False,
            "suppress_health_check": [HealthCheck.too_slow]},
    "ci": {"max_examples": 200, "deadline": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow]},
    "real-api": {"max_examples": 1, "deadline": None, "database": None, "print_blob": False,
                 "phases": [Phase.explicit, Phase.generate],
                 "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]},
}


class DatabaseSpecError(ValueError):
    """An ``--example-db`` value that cannot be used; the message lists the accepted forms."""


def example_database(spec: str | None) -> ExampleDatabase | None:
    """The example database a spec string names (see the module docstring); None means none."""
    if spec is None or not spec.strip():
        raise DatabaseSpecError("empty example database spec")
    spec = spec.strip()
    if "+" in spec and not spec.startswith(("readonly:",)):
        parts = [example_database(part) for part in spec.split("+")]
        return MultiplexedDatabase(*[p for p in parts if p is not None])
    lowered = spec.lower()
    if lowered in ("none", "off", "no"):
        return None
    if lowered == "memory":
        return InMemoryExampleDatabase()
    if lowered.startswith("readonly:"):
        inner = example_database(spec[len("readonly:"):])
        return None if inner is None else ReadOnlyDatabase(inner)
    if lowered.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError as exc:  # pragma: no cover - redis is a dependency
            raise DatabaseSpecError(f"{spec}: the redis client is not installed ({exc})") from None
        return RedisExampleDatabase(redis.Redis.from_url(spec), key_prefix=REDIS_PREFIX)
    if lowered.startswith("dir:"):
        spec = spec[4:]
    if "://" in spec:
        raise DatabaseSpecError(f"unknown example database {spec!r}: use none, memory, a directory, "
                                "redis://host:port/db, readonly:<spec>, or several joined by '+'")
    return DirectoryBasedExampleDatabase(spec)


def use_cache_home(environ: Mapping[str, str] | None = None) -> str | None:
    """Point Hypothesis's storage (example database, constants cache) at the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``modelslab-mock/hypothesis``) instead of a
    ``.hypothesis`` folder in the current one; ``HYPOTHESIS_STORAGE_DIRECTORY`` still wins.
    Returns the folder chosen (None when the environment chose)."""
    env = os.environ if environ is None else environ
    if env.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return None
    from hypothesis.configuration import set_hypothesis_home_dir

    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    home = os.path.join(base, "modelslab-mock", "hypothesis")
    set_hypothesis_home_dir(home)
    return home


def register_profiles(database: str | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Register ``dev``, ``ci`` and ``real-api`` (``ci`` and ``dev`` use the configured database)."""
    env = os.environ if environ is None else environ
    spec = database or env.get(DB_ENV)
    chosen: dict[str, Any] = {}
    if spec:
        chosen["database"] = example_database(spec)
    for name, options in PROFILES.items():
        merged = dict(options)
        if name != "real-api":
            merged.update(chosen)
        settings.register_profile(name, **merged)


def load_profile(name: str | None = None, database: str | None = None,
                 environ: Mapping[str, str] | None = None) -> str:
    """Register the profiles and load one: ``name``, else ``CONTRACTS_PROFILE``, else ci on CI, else dev."""
    env = os.environ if environ is None else environ
    register_profiles(database, env)
    chosen = name or env.get(PROFILE_ENV) or ("ci" if env.get("CI") else "dev")
    if chosen not in PROFILES:
        raise ValueError(f"unknown profile {chosen!r}; choose one of {', '.join(PROFILES)}")
    settings.load_profile(chosen)
    return chosen
