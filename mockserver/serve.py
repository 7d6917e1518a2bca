"""Put the app on a socket and say where, with which seed, and how to reproduce the run."""

from __future__ import annotations

import logging

from werkzeug.serving import run_simple

from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.state import mock_state

__all__ = ["serve"]

log = logging.getLogger("mockserver")


def serve(config: MockConfig) -> int:
    app = create_app(config)
    seed = mock_state(app).engine.rng.seed
    mode = "strict" if config.strict else "compat"
    print(
        f"modelslab-mock on http://{config.host}:{config.port}/api/v6/images/inpaint "
        f"({mode}, profile {config.profile}, seed {seed}; replay with --seed {seed})",
        flush=True,
    )
    run_simple(config.host, config.port, app, threaded=True, use_reloader=False)
    return 0
