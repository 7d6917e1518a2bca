"""Put the app on a socket with a production server, and say where, with which seed and store.

``mockserver run`` serves through granian (a Rust HTTP server) and the async front in
mockserver/web/front.py: ``--workers`` processes, forked from one loaded app (so they start fast
and share its memory), each answering in one Python thread while granian holds connections,
parses requests and buffers bodies outside it. Stalled clients cost a connection, not the
worker: headers must arrive within ``header_timeout`` seconds, a body within ``body_timeout``,
and each worker serves at most ``max_connections`` connections at once (more wait in the
listen backlog). SIGTERM or Ctrl-C stops taking new connections and finishes the answers in
flight (at most ``STOP_TIMEOUT`` seconds). A worker that dies is started again.

State is in memory unless asked: ``--state DIR`` keeps a SQLite file there, shared by the
workers and kept across restarts; ``--store redis://`` shares it between machines. Several
workers need one of the two (an in-memory store is per process) and refuse to start without.
Each worker draws from its own seed (derived from ``--seed``), or two workers would hand out
the same file names; ``--workers 1`` replays a run exactly. openapi-core, needed only for the
errors of invalid requests, is loaded in the background after a worker starts, so the first
answer does not wait for it.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import sys
from typing import Any, Callable

from mockserver.config import MockConfig
from mockserver.images.netpolicy import is_loopback_bind
from mockserver.state.stores import StoreError
from mockserver.web import access_log
from mockserver.web.app import LazyWSGI, build_state, flask_app, serving_app
from mockserver.web.context import MockState
from mockserver.web.front import RSGIFront, deferred_sleep

__all__ = ["STOP_TIMEOUT", "front_app", "granian_options", "route_listing", "serve", "worker_seed"]

log = logging.getLogger("mockserver")

#: Seconds a worker waits after start before loading Flask and openapi-core (keeps the first answers quick).
WARM_UP_DELAY = 1.0

#: Seconds a stopping worker has to finish the answers in flight before it is killed.
STOP_TIMEOUT = 10

#: Connections the operating system queues for the workers beyond those they serve.
BACKLOG = 1024

def worker_seed(seed: int, age: int) -> int:
    """The seed of the ``age``-th worker started (1, 2, ..., restarts included): distinct, reproducible."""
    return (seed + 104_729 * age) % 2**31


def granian_options(config: MockConfig) -> dict[str, Any]:
    """Server settings for a config (also used by the benchmark's ceiling, so both run the same server)."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    return {
        "address": config.host,
        "port": config.port,
        "interface": Interfaces.RSGI,
        "workers": config.workers,
        "runtime_threads": 1,
        "loop": Loops.asyncio,  # measured: uvloop saved nothing here; one loop everywhere
        "http": HTTPModes.http1,
        "websockets": False,
        "backlog": BACKLOG,
        "backpressure": config.max_connections,
        "http1_settings": HTTP1Settings(header_read_timeout=int(config.header_timeout * 1000)),
        "log_level": LogLevels.warning,
        "log_access": False,
        "respawn_failed_workers": True,
        "workers_kill_timeout": STOP_TIMEOUT,
    }


def front_app(state: MockState) -> RSGIFront:
    """What each worker serves: the adapter (Flask behind it) inside the async front."""
    config = state.config
    state.wait_with(deferred_sleep)  # delays are awaited by the front, not slept in the loop
    app = access_log.wrap(serving_app(state), config)  # one console line per request unless quiet
    return RSGIFront(app, max_body_bytes=config.max_body_bytes, body_timeout=config.body_timeout,
                     multiprocess=config.workers > 1)


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
        state.warm_up()
        _freeze_heap()

    timer = threading.Timer(WARM_UP_DELAY, load)
    timer.daemon = True
    timer.start()


# -- granian workers ------------------------------------------------------------------------------
# Workers are forked from the loaded server where the platform forks (Linux): they find the app in
# _LOADED. Where granian spawns fresh interpreters instead (macOS, Windows), each builds its own
# from the config it is handed (the loader and its argument must then be picklable).

_LOADED: tuple[MockState, RSGIFront] | None = None
_AGES: Any = None  # a shared counter of started workers (restarts included), for their seeds


@dataclasses.dataclass(frozen=True)
class _Target:
    config: MockConfig

    def __str__(self) -> str:  # granian names its processes after the target
        return "modelslab-mock"


def _die_with_the_main_process() -> None:
    """Linux: a worker gets SIGTERM (and stops as on Ctrl-C) when the main process dies, even by
    ``kill -9``, instead of living on with the port open and nobody to restart or stop it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the main process died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_app(target: _Target) -> RSGIFront:
    """Runs in each new worker: its app, with its own seed when there are several workers."""
    _die_with_the_main_process()
    if _LOADED is not None:
        state, front = _LOADED
    else:
        state = build_state(target.config)
        front = front_app(state)
    if target.config.workers > 1:
        if _AGES is not None:
            with _AGES.get_lock():
                _AGES.value += 1
                age = _AGES.value
        else:  # a spawned worker shares no counter: its process id keeps it apart
            age = os.getpid()
        state.reseed(worker_seed(state.seed, age))
    fallback = front.app.fallback
    _warm_up_later(state, fallback if isinstance(fallback, LazyWSGI) else None)
    return front


def _run_granian(state: MockState, config: MockConfig, on_ready: Callable[[], None]) -> None:
    global _LOADED, _AGES
    from granian.server import Server

    # Flask is built in each worker after its first second (or on its first non-API request):
    # the spec's routes are answered by the adapter without it, so the first answer is quick.
    _LOADED = (state, front_app(state))
    _AGES = multiprocessing.Value("i", 0) if config.workers > 1 else None
    state.store.close()  # no connection may cross the fork: each worker opens its own
    _freeze_heap()  # before the fork: workers share these pages and never collect them
    server = Server(_Target(config), **granian_options(config))
    server.on_startup(on_ready)
    server.serve(target_loader=_worker_app)


def serve(config: MockConfig) -> int:
    if config.workers > 1 and config.store == "memory":
        print(f"mockserver: --workers {config.workers} needs state the workers share: add --state DIR (SQLite) "
              f"or --store redis://... (the default in-memory store is per process)", file=sys.stderr)
        return 2
    generated = False
    if config.admin_token or not is_loopback_bind(config.host):
        from mockserver.web.admin import ensure_admin_token

        token, generated = ensure_admin_token(config.host, config.admin_token)
        if token != config.admin_token:
            config = dataclasses.replace(config, admin_token=token)
    try:
        state = build_state(config)
    except StoreError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    seed = state.seed
    mode = "strict" if config.strict else "compat"
    workers = f"{config.workers} worker(s)"
    seeds = f"seed {seed}; replay with --seed {seed}" + (" --workers 1" if config.workers > 1 else "")

    def on_ready() -> None:
        print(
            f"modelslab-mock on http://{config.host}:{config.port}{state.spec.base_path or '/'} serving "
            f"{state.spec.name} ({mode}, profile {config.profile}, {workers}, store {_store_name(config)}, {seeds})",
            flush=True,
        )
        print(route_listing(state), flush=True)
        print(_exposure_note(config, generated), flush=True)

    try:
        import granian  # noqa: F401
    except ImportError:  # no wheel for this platform: the threaded development server still works
        from werkzeug.serving import run_simple

        on_ready()
        _warm_up_later(state)
        run_simple(config.host, config.port, access_log.wrap(flask_app(state), config), threaded=True,
                   use_reloader=False)
        return 0
    _run_granian(state, config, on_ready)
    return 0


def route_listing(state: MockState) -> str:
    """The spec's routes as the banner lists them: path, method, operation and what it does."""
    rows = [(path, method, op_id, state.behaviours[op_id].kind) for method, path, op_id in state.routes.routes()]
    width = max((len(path) for path, *_ in rows), default=0)
    lines = [f"  {path:<{width}}  {method:<6} {op_id} ({kind})" for path, method, op_id, kind in rows]
    return "\n".join(lines or ["  (the spec has no operations)"])


def _exposure_note(config: MockConfig, generated: bool) -> str:
    """Who can reach the mock, and what guards its admin API (printed at start)."""
    if is_loopback_bind(config.host):
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

        return f"sqlite:///{sqlite_path('sqlite', config.state)}"
    if "@" in config.store:  # never print a Redis password
        scheme, _, rest = config.store.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return config.store
