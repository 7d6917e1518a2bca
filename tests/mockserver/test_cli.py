"""``mockserver run`` (and ``python -m mockserver``) serve the mock; every start-up problem is one
line saying what to do, exit status 2, no traceback; every setting is a flag, grouped."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import requests

from mockserver.cli import _config_from_args, build_parser, main
from mockserver.config import MockConfig

from live_mock import HTTP_TIMEOUT, free_port, mock_process

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_run_help_shows_every_setting_as_a_flag_in_groups(capsys):
    text = _help(capsys, "run", "--help")
    for group in ("Serving:", "The contract:", "Answers:", "State:", "Images:", "Webhooks:", "Latency and faults:"):
        assert f"\n{group}\n" in text, group
    for field in dataclasses.fields(MockConfig):
        if field.name != "keys":  # a TOML table; `mockserver settings` names it
            assert f"--{field.name.replace('_', '-')}" in text, field.name
    assert "--no-strict" in text and "--config FILE" in text
    assert text.index("\nServing:") < text.index("\n  --port N") < text.index("\nThe contract:")


def test_settings_lists_every_setting_with_default_env_and_toml_names(capsys):
    assert main(["settings"]) == 0
    text = capsys.readouterr().out
    for field in dataclasses.fields(MockConfig):
        assert f"  {field.name} = " in text, field.name
        if field.name != "keys":
            assert f"MOCKSERVER_{field.name.upper()}" in text and f"toml {field.name}" in text
    assert "  port = 4010\n" in text and "  processing_ratio = 0.2 (realistic: 0.6)\n" in text
    assert "toml [keys.NAME]" in text


def test_version_on_both_clis(capsys):
    assert _help(capsys, "--version").strip() == f"mockserver {version('modelslab-mock')}"
    from contracts.cli import main as contracts_main

    with pytest.raises(SystemExit) as exit_:
        contracts_main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"contracts {version('modelslab-mock')}"


def test_a_wrong_flag_prints_the_subcommands_usage_and_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--prot", "4011"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mockserver run ") and "--prot -> --port?" in err
    assert "Traceback" not in err and len(err.splitlines()) == 2


def _one_line_failure(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockserver: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


@pytest.mark.parametrize("argv, env, expected", [
    (["--spec", "no-such-spec.yaml"], {}, "spec 'no-such-spec.yaml' not found"),
    (["--port", "many"], {}, "--port: port must be a whole number, not 'many'"),
    ([], {"MOCKSERVER_PROCESSING_RATIO": "2"}, "processing_ratio must be between 0 and 1"),
    ([], {"MOCKSERVER_STRICT": "perhaps"}, "MOCKSERVER_STRICT: strict must be true or false"),
    (["--host", "no-such-host.invalid"], {}, "use --host 127.0.0.1"),
    (["--workers", "2", "--port", "{free}"], {}, "--workers 2 needs state the workers share: add --state DIR"),
])
def test_start_up_problems_are_one_line_and_exit_2(capsys, monkeypatch, argv, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    free = str(free_port())  # a mock already on 4010 (make run in another shell) must not change the verdict
    line = _one_line_failure(capsys, ["run", *[free if arg == "{free}" else arg for arg in argv]])
    assert expected in line


def test_a_spec_that_is_not_openapi_or_that_the_mock_cannot_serve(capsys, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("paths: [\n")
    assert "is not valid YAML at line 2" in _one_line_failure(capsys, ["run", "--spec", str(broken)])
    other = tmp_path / "other.yaml"
    other.write_text("title: not a spec\n")
    assert "is not an OpenAPI 3 document" in _one_line_failure(capsys, ["run", "--spec", str(other)])
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("openapi: 3.0.3\ninfo: {title: t}\npaths: {/pets: {get: {responses: {'200': {}}}}}\n")
    line = _one_line_failure(capsys, ["run", "--spec", str(invalid)])
    assert str(invalid) in line and "not a valid OpenAPI 3.0/3.1 document" in line and "version" in line
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    post:\n"
                       "      operationId: createPet\n      x-mock-behaviour: {kind: teleport}\n"
                       "      responses: {'200': {description: ok}}\n")
    line = _one_line_failure(capsys, ["run", "--spec", str(unknown)])
    assert str(unknown) in line and "createPet" in line and "'teleport' is unknown" in line
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text(unknown.read_text().replace("{kind: teleport}", "{kind: generate, family: v7, render: text2img, "
                                                    "fetch: nowhere}"))
    assert "'fetch' names 'nowhere'" in _one_line_failure(capsys, ["run", "--spec", str(dangling)])


def test_a_spec_without_a_relative_server_is_served_under_its_first_servers_path(tmp_path):
    """The pet store names only an absolute server: its path is where the routes are, and the
    banner names the spec and lists the routes."""
    output: list[str] = []
    with mock_process("--spec", str(FIXTURES / "petstore.yaml"), "--store", "memory", output=output) as (url, _):
        answer = requests.get(url + "/v1/pets/7", timeout=5)
        assert answer.status_code == 200 and answer.json()["name"] == "Fido"
    banner = output[0].splitlines()
    assert banner[0].startswith("modelslab-mock on http://127.0.0.1:") and "/v1 serving " in banner[0]
    assert "petstore.yaml" in banner[0]
    listed = [line.split() for line in banner[1:6]]
    assert ["/v1/pets/mine", "GET", "myPets", "(generic)"] in listed
    assert ["/v1/pets/{petId}", "DELETE", "deletePet", "(generic)"] in listed


def test_a_bad_toml_file_names_the_file_and_the_setting(capsys, tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text("prot = 4011\n")
    line = _one_line_failure(capsys, ["run", "--config", str(path)])
    assert str(path) in line and "unknown setting 'prot' (did you mean port?)" in line
    path.write_text("port = = 1\n")
    assert "is not valid TOML" in _one_line_failure(capsys, ["run", "--config", str(path)])


def test_a_port_in_use_says_another_mock_may_hold_it(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_failure(capsys, ["run", "--port", str(port)])
    assert f"port {port} on 127.0.0.1 is already in use (another mock on {port}?" in line
    assert f"use --port {port + 1}" in line


def test_the_real_command_prints_one_line_and_no_traceback():
    done = subprocess.run([sys.executable, "-m", "mockserver", "run", "--spec", "missing.yaml"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("mockserver: spec 'missing.yaml' not found")


def test_flags_parse_to_settings():
    args = build_parser().parse_args(["run", "--strict", "--http-errors", "--seed", "3", "--port", "4999",
                                      "--no-journal", "--log-format", "json"])
    config = _config_from_args(args)
    assert (config.strict, config.http_errors, config.seed, config.port) == (True, True, 3, 4999)
    assert config.journal is False and config.log_format == "json"
    assert build_parser().parse_args(["run"]).strict is None, "unset flags must not hide env/file settings"


def test_python_dash_m_mockserver_serves_and_logs_each_request(docs_example):
    output: list[str] = []
    with mock_process("--seed", "4", output=output) as (url, _):
        answer = requests.post(url + "/api/v6/images/inpaint", data=docs_example,
                               headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT).json()
        assert answer["status"] in ("success", "processing")
    text = output[0]
    assert "seed 4" in text and "your_api_key" not in text
    line = next(line for line in text.splitlines() if "POST /api/v6/images/inpaint" in line)
    assert f" {answer['status']} 200 " in line and "key=***(" in line and "\x1b[" not in line  # no colour in a pipe


def test_quiet_prints_no_request_lines(docs_example):
    output: list[str] = []
    with mock_process("--quiet", output=output) as (url, _):
        requests.post(url + "/api/v6/images/inpaint", data=docs_example,
                      headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert "modelslab-mock on" in output[0] and "/api/v6/images/inpaint key=" not in output[0]
