"""What a running mock shares between its views: config, engine and store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mockserver.config import MockConfig
from mockserver.engine.pipeline import Engine
from mockserver.state.store import Store

if TYPE_CHECKING:  # the fast path serves without Flask; only the type is needed here
    from flask import Flask

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
