"""docs/configuration.md is generated from the code; a new or changed setting must reach it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mockserver.config import MockConfig
from mockserver.settings import HELP, render_markdown

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented_in_mockserver_settings():
    fields = {f.name for f in dataclasses.fields(MockConfig)}
    assert fields - set(HELP) == set(), "add a line to HELP in mockserver/settings.py for each, then `make docs`"
    assert set(HELP) - fields == set(), "HELP in mockserver/settings.py names settings MockConfig no longer has"


def test_the_configuration_page_is_up_to_date():
    assert PAGE.read_text() == render_markdown(), (
        "docs/configuration.md is out of date: run `make docs` (python -m mockserver settings --format markdown)")


def test_the_page_names_every_setting_with_its_env_and_default():
    text = PAGE.read_text()
    defaults = MockConfig()
    for field in dataclasses.fields(MockConfig):
        assert f"| `{field.name}` |" in text or field.name == "keys", field.name
        if field.name != "keys":
            assert f"`MOCKSERVER_{field.name.upper()}`" in text
    assert f"| `port` | {defaults.port} |" in text
