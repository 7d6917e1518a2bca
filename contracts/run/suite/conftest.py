"""Outside ``contracts run`` (no ``SuitePlugin`` in the session) every suite test is skipped."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "per_family: one parameter per family of generate operations, not per operation")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from contracts.run.runner import suite_of

    if suite_of(config) is None:
        skip = pytest.mark.skip(reason="the contract suite runs through `contracts run --target ...`")
        for item in items:
            item.add_marker(skip)
