"""Put the app on a socket with a production server, and say where, with which seed and store.

``mockserver run`` serves through gunicorn: ``--workers`` processes (forked from one loaded
app, so they start fast and share its memory) with ``--threads`` threads each (the gthread
worker, which also keeps connections alive; one thread means the plain sync worker). Several
workers must share their state, so they refuse the in-memory store; the default SQLite file
is shared by every worker. Each worker draws from its own seed (derived from ``--seed``), or
two workers would hand out the same file names; ``--workers 1`` replays a run exactly.
openapi-core, needed only for the errors of invalid requests, is loaded in the background
after a worker starts, so the first answer does not wait for it.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

from mockserver.web import access_log
from mockserver.web.app import LazyWSGI, build_state, flask_app, serving_app
from mockserver.config import MockConfig
from mockserver.web.context import MockState
from mockserver.state.stores import StoreError

__all__ = ["gunicorn_options", "serve", "worker_seed"]

log = logging.getLogger("mockserver")

#: Seconds a worker waits after start before loading Flask and openapi-core (keeps the first answers quick).
WARM_UP_DELAY = 1.0

#: Bind addresses that are loopback without asking mockserver.web.admin (which imports Flask).
_LOOPBACK_LITERALS = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_LITERALS:
        return True
    from mockserver.web.admin import is_loopback_host

    return is_loopback_host(host)


def worker_seed(seed: int, age: int) -> int:
    """The seed of the ``age``-th worker gunicorn started (1, 2, ...): distinct, reproducible."""
    return (seed + 104_729 * age) % 2**31


def gunicorn_options(config: MockConfig) -> dict[str, Any]:
    """Server settings for a config (also used by the benchmark, so both run the same server)."""
    return {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        "threads": config.threads,
        "worker_class": "gthread" if config.threads > 1 else "sync",
        "preload_app": True,
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 5,
        "worker_tmp_dir": "/dev/shm" if sys.platform.startswith("linux") else None,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "modelslab-mock",
    }


def _freeze_heap() -> None:
    """Move what is loaded so far out of the garbage collector's sight: the spec models are
    hundreds of thousands of long-lived objects, and walking them in every full collection
    showed as p99 stalls of tens of milliseconds."""
    import gc

    gc.collect()
    gc.freeze()


def _warm_up_later(state: MockState, flask: LazyWSGI | None = None) -> None:
    import threading

    def load() -> None:
        if flask is not None:
            flask.load()  # the admin API, output files and error pages
        for validator in state.engine.validators.values():
            lazy = getattr(validator.openapi, "load", None)
            if lazy is not None:
                lazy()
                break
        _freeze_heap()

    timer = threading.Timer(WARM_UP_DELAY, load)
    timer.daemon = True
    timer.start()


def _run_gunicorn(app, state: MockState, config: MockConfig, on_ready) -> None:
    from gunicorn.app.base import BaseApplication

    class MockServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(config).items():
                if value is not None:
                    self.cfg.set(key, value)
            self.cfg.set("post_fork", post_fork)
            self.cfg.set("when_ready", lambda server: on_ready())

        def load(self):
            return app

    def post_fork(server, worker) -> None:
        if config.workers > 1:
            state.engine.rng.reseed(worker_seed(state.engine.rng.seed, worker.age))
        _warm_up_later(state, app.fallback if isinstance(app.fallback, LazyWSGI) else None)

    MockServer().run()


def serve(config: MockConfig) -> int:
    if config.workers > 1 and config.store == "memory":
        print("mockserver: --workers > 1 needs a shared store (sqlite or redis://...), not memory",
              file=sys.stderr)
        return 2
    generated = False
    if config.admin_token or not _is_loopback(config.host):
        from mockserver.web.admin import ensure_admin_token

        token, generated = ensure_admin_token(config.host, config.admin_token)
        if token != config.admin_token:
            config = dataclasses.replace(config, admin_token=token)
    try:
        state = build_state(config)
    except StoreError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    seed = state.engine.rng.seed
    mode = "strict" if config.strict else "compat"
    workers = f"{config.workers} worker(s) x {config.threads} thread(s)"
    seeds = f"seed {seed}; replay with --seed {seed}" + (" --workers 1" if config.workers > 1 else "")

    def on_ready() -> None:
        print(
            f"modelslab-mock on http://{config.host}:{config.port}/api/v6/images/inpaint "
            f"({mode}, profile {config.profile}, {workers}, store {_store_name(config)}, {seeds})",
            flush=True,
        )
        print(_exposure_note(config, generated), flush=True)

    try:
        import gunicorn  # noqa: F401
    except ImportError:  # e.g. Windows: the threaded development server still works
        from werkzeug.serving import run_simple

        on_ready()
        _warm_up_later(state)
        run_simple(config.host, config.port, access_log.wrap(flask_app(state), config), threaded=True,
                   use_reloader=False)
        return 0
    # Flask is built in each worker after its first second (or on its first non-API request):
    # the API's POST routes are answered by the fast path without it, so the first answer is quick.
    app = access_log.wrap(serving_app(state), config)  # one console line per request unless quiet
    state.store.close()  # no connection may cross the fork: each worker opens its own
    _freeze_heap()  # before the fork: workers share these pages and never collect them
    _run_gunicorn(app, state, config, on_ready)
    return 0


def _exposure_note(config: MockConfig, generated: bool) -> str:
    """Who can reach the mock, and what guards its admin API (printed at start)."""
    if _is_loopback(config.host):
        reach = f"bound to loopback ({config.host}): only this machine can connect"
    else:
        reach = (f"WARNING: bound to {config.host}, a non-loopback address: other machines can connect; "
                 f"the admin API /__mock/ requires the admin token")
    if not config.admin_token:
        return f"{reach}; admin API /__mock/ open to local clients (set admin_token to require a token)"
    if generated:  # printed once, so the user can use it; never written anywhere else
        return (f"{reach}; generated admin token (send Authorization: Bearer <token>): {config.admin_token}")
    return f"{reach}; /__mock/ requires the configured admin token (Authorization: Bearer <token>)"


def _store_name(config: MockConfig) -> str:
    if config.store == "sqlite":
        from mockserver.state.stores import sqlite_path

        return f"sqlite:///{sqlite_path('sqlite', config.state_dir)}"
    if "@" in config.store:  # never print a Redis password
        scheme, _, rest = config.store.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return config.store
