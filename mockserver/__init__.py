"""modelslab-mock: an offline, spec-validated mock of the ModelsLab image API (and, Prism-style,
of any OpenAPI 3 spec).

``create_app(config)`` builds the app; ``mockserver run`` serves it. Importing this package loads
nothing heavy (no Flask, no Pillow, no openapi-core): the names below are loaded on first use.
This package may import ``contracts``; ``contracts`` never imports this package or Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.config import MockConfig, load_config
    from mockserver.web.app import create_app

__all__ = ["MockConfig", "create_app", "load_config"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mockserver.web.app import create_app

        return create_app
    if name in ("MockConfig", "load_config"):
        from mockserver import config

        return getattr(config, name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
