"""What a running mock shares between its views: config, engine and store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from mockserver.config import MockConfig
from mockserver.pipeline import Engine
from mockserver.store import Store

__all__ = ["MockState", "mock_state"]

EXTENSION = "modelslab_mock"


@dataclass
class MockState:
    config: MockConfig
    engine: Engine
    store: Store


def mock_state(app: Flask) -> MockState:
    """The state of a mock app made by ``create_app``."""
    return app.extensions[EXTENSION]
