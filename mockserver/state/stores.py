"""Open the store a configuration names: ``memory``, ``sqlite``, ``sqlite:///path`` or ``redis://...``.

One place turns the ``store`` setting into a backend with the configured caps and TTL, so the
app, the server and the tests all read it the same way. Backends are imported only when named:
a mock on the in-memory store never imports sqlite3 or redis.

``sqlite`` is a file ``mock.sqlite3`` in the ``state`` folder (``--state DIR``). ``sqlite:///path`` follows SQLAlchemy's
convention: three slashes then the path (``sqlite:///state/x.db`` is relative,
``sqlite:////tmp/x.db`` absolute). ``redis://`` and ``rediss://`` URLs go to redis-py as they are;
their keys start with ``store_prefix``.
"""

from __future__ import annotations

import os
from typing import Any

from mockserver.state.store import DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_STORE_BYTES, MemoryStore, Store

__all__ = ["DEFAULT_SQLITE_FILE", "StoreError", "open_store", "sqlite_path"]

DEFAULT_SQLITE_FILE = "mock.sqlite3"


class StoreError(ValueError):
    """A ``store`` setting that names no backend, or one that cannot be opened."""


def sqlite_path(url_or_name: str, state: str | None = None) -> str:
    """The file a ``sqlite`` (in the ``state`` folder) / ``sqlite:///path`` setting names."""
    if url_or_name == "sqlite":
        if not state:
            raise StoreError("store sqlite needs a folder (--state DIR), or name a file: sqlite:///path")
        return os.path.join(state, DEFAULT_SQLITE_FILE)
    if url_or_name.startswith("sqlite:///") and len(url_or_name) > len("sqlite:///"):
        return url_or_name[len("sqlite:///"):]
    raise StoreError(f"cannot read {url_or_name!r} as a SQLite store: use sqlite or sqlite:///path")


def open_store(url_or_name: str, config: Any = None) -> Store:
    """The backend ``url_or_name`` names, with caps and TTL from ``config`` (a MockConfig)."""
    max_jobs = getattr(config, "max_jobs", 100_000)
    max_log_entries = getattr(config, "max_log_entries", 10_000)
    job_ttl = getattr(config, "job_ttl", 0.0)
    budgets = {"max_log_bytes": getattr(config, "max_log_bytes", DEFAULT_MAX_LOG_BYTES),
               "max_store_bytes": getattr(config, "max_store_bytes", DEFAULT_MAX_STORE_BYTES)}
    name = (url_or_name or "").strip()
    if name == "memory":
        return MemoryStore(max_jobs=max_jobs, max_log_entries=max_log_entries, job_ttl=job_ttl, **budgets)
    if name == "sqlite" or name.startswith("sqlite:"):
        from mockserver.state.sqlite_store import SqliteStore

        path = sqlite_path(name, getattr(config, "state", None))
        try:
            return SqliteStore(path, max_jobs=max_jobs, max_log_entries=max_log_entries, job_ttl=job_ttl, **budgets)
        except Exception as exc:  # sqlite3.Error, OSError: say which file and why
            raise StoreError(f"cannot open the SQLite store {path}: {exc}") from exc
    if name.startswith(("redis://", "rediss://", "unix://")):
        from contracts.core.extras import MissingExtra, require

        try:
            require("redis", "the Redis store")
        except MissingExtra as exc:
            raise StoreError(str(exc)) from None
        from mockserver.state.redis_store import RedisStore

        store = RedisStore(name, prefix=getattr(config, "store_prefix", "modelslab-mock:"),
                           max_jobs=max_jobs, max_log_entries=max_log_entries, job_ttl=job_ttl)
        try:
            store.ping()
        except Exception as exc:  # redis.ConnectionError and friends
            store.close()
            raise StoreError(f"cannot reach the Redis store {_without_password(name)}: {exc}") from exc
        return store
    raise StoreError(f"unknown store {name!r}: use memory, sqlite, sqlite:///path or redis://host:port/db")


def _without_password(url: str) -> str:
    """A Redis URL fit for an error message (a password in it is an API secret too)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
