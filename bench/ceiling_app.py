"""The ceiling: a trivial Flask JSON endpoint, served by the very server settings the mock uses.

No validation, no state, no work: what Flask plus gunicorn cost on this machine. The mock's
throughput is reported as a share of this figure.
"""

from __future__ import annotations

import sys

from flask import Flask, jsonify, request

app = Flask("ceiling")
ANSWER = {"status": "success", "id": 130000001, "output": ["http://127.0.0.1/generations/x-0.png"]}


@app.post("/api/v6/images/inpaint")
def inpaint():
    request.get_data()
    return jsonify(ANSWER)


def main(argv: list[str]) -> int:
    """``python bench/ceiling_app.py PORT WORKERS THREADS``: serve it the way ``mockserver run`` does."""
    from gunicorn.app.base import BaseApplication

    from mockserver.config import MockConfig
    from mockserver.web.serve import gunicorn_options

    port, workers, threads = (int(a) for a in argv[:3])
    options = gunicorn_options(MockConfig(port=port, workers=workers, threads=threads, store="memory"))

    class Ceiling(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return app

    Ceiling().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
