"""``mockserver run`` (and ``python -m mockserver``) serve the mock; bad settings fail clearly."""

from __future__ import annotations


import requests

from mockserver.cli import build_parser, main

from live_mock import mock_process


def test_help_is_the_reference_for_every_flag(capsys):
    try:
        main(["run", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    text = capsys.readouterr().out
    for flag in ("--host", "--port", "--spec", "--config", "--seed", "--strict", "--http-errors", "--profile"):
        assert flag in text


def test_bad_setting_exits_2_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("MOCKSERVER_PROCESSING_RATIO", "2")
    try:
        main(["run", "--port", "1"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "processing_ratio must be between 0 and 1" in capsys.readouterr().err


def test_flags_parse_to_settings():
    args = build_parser().parse_args(["run", "--strict", "--http-errors", "--seed", "3", "--port", "4999"])
    assert (args.strict, args.http_errors, args.seed, args.port) == (True, True, 3, 4999)
    assert build_parser().parse_args(["run"]).strict is None, "unset flags must not hide env/file settings"


def test_python_dash_m_mockserver_serves_until_stopped(docs_example):
    output: list[str] = []
    with mock_process("--seed", "4", output=output) as (url, _):
        answer = requests.post(url + "/api/v6/images/inpaint", data=docs_example,
                               headers={"Content-Type": "application/json"}, timeout=5).json()
        assert answer["status"] in ("success", "processing")
    assert "seed 4" in output[0] and "your_api_key" not in output[0]
