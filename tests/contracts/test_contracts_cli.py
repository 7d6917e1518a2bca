"""``contracts run`` (contracts/cli.py, contracts/run/runner.py) as a user runs it: against a started
mock, a broken mock, and the real API.

Each run is a real ``python -m contracts`` process. The real API is never contacted: without a
key the run is skipped, and the budget is tested against a local mock standing in for it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.run.mock_admin import MockAdmin
from contracts.run.runner import RunOptions, _wsgi_app, target_from_spec
from contracts.run.targets import TargetError
from contracts.core.transport import RequestsTransport

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-live-SECRET-0123456789"


def contracts(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("MODELSLAB_API_KEY", "CONTRACTS_REAL_BASE_URL")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "contracts", *args], capture_output=True, text=True, cwd=ROOT,
                          env=environ, timeout=240)


def junit(path: Path) -> ET.Element:
    return ET.parse(path).getroot().find("testsuite")


def test_run_against_a_started_mock_passes_and_writes_junit(tmp_path):
    report, cassette = tmp_path / "out.xml", tmp_path / "run.yaml"
    result = contracts("run", "--target", "mock", "--max-examples", "5", "--junit-xml", str(report),
                       "--cassette", str(cassette), "--key", SECRET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contracts run: target mock -> http://127.0.0.1:" in result.stdout
    assert "(modelslab-mock, strict, seed 0)" in result.stdout
    suite = junit(report)
    assert int(suite.get("tests")) >= 16 and suite.get("failures") == "0" and suite.get("errors") == "0"
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"test_operation_conforms[POST /v6/images/inpaint negative]", "test_stateful_generate_then_fetch",
            "test_job_lifecycle[v6ImagesInpaint]", "test_invalid_bodies_are_rejected[v6ImagesInpaint]",
            "test_job_lifecycle[v6RealtimeText2img]", "test_job_lifecycle[v7ImagesImageToImage]"} <= names
    for text in (result.stdout, result.stderr, report.read_text(), cassette.read_text()):
        assert SECRET not in text
    assert "interactions:" in cassette.read_text() and '"key": "***"' in cassette.read_text()


def _extra_output(path, body):
    """The planted mock bug: one output URL too many in every success."""
    if body.get("status") == "success" and body.get("output"):
        body["output"] = body["output"] + body["output"][:1]
        return body
    return None


def test_a_broken_mock_fails_naming_the_check_with_expected_got_and_a_redacted_curl(make_app, serve_wsgi, corrupt,
                                                                                     tmp_path):
    served = serve_wsgi(corrupt(make_app(strict=True, processing_ratio=0.0), _extra_output))
    report = tmp_path / "broken.xml"
    result = contracts("run", "--target", served.url, "--key", SECRET, "--max-examples", "5",
                       "-k", "lifecycle and v6ImagesInpaint", "--junit-xml", str(report), env={"CI": ""})  # a developer's machine
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "[MLC101 samples_match_outputs] a success has one output per requested sample" in out
    assert "expected:  2 URLs in 'output' (samples=2 in the job's v6ImagesInpaint request)" in out
    assert "got:       3 URLs:" in out
    assert "reproduce: curl -X POST " + served.url + "/api/v6/images/fetch/" in out
    assert '"key": "***"' in out and SECRET not in out + result.stderr
    # each failure once: its block, not pytest's traceback of it as well
    assert out.count("[MLC101 samples_match_outputs]") == 1 and "Traceback" not in out
    assert out.count("reproduce: curl") == out.count("\n[MLC")
    suite = junit(report)
    assert suite.get("failures") == "1"
    failure = next(suite.iter("failure"))
    assert "samples_match_outputs" in failure.text and "reproduce: curl" in failure.text
    assert SECRET not in report.read_text()


def _status_done(path, body):
    """A server whose answers break the response schema: Schemathesis's own check fails."""
    if body.get("status") == "success":
        return {**body, "status": "done"}
    return None


def test_a_property_test_failure_is_printed_once_with_its_curl(make_app, serve_wsgi, corrupt, tmp_path):
    """Schemathesis's report of a failed property test repeats each failure three times."""
    # any model: the generated bodies must reach a success for the planted bug to show (the
    # generator's random model ids are "Model id not found", instant_response "yes" a queued job)
    served = serve_wsgi(corrupt(make_app(strict=True, processing_ratio=0.0, models=("*",)), _extra_output))
    report = tmp_path / "once.xml"
    result = contracts("run", "--target", served.url, "--key", SECRET, "--max-examples", "5",
                       "-k", "inpaint and positive and not realtime and not v7", "--junit-xml", str(report), env={"CI": "true"})  # on CI
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "1 contract failure:\n\n[MLC101 samples_match_outputs]" in out
    assert out.count("samples_match_outputs") == 1 and out.count("reproduce: curl") == 1
    assert "Exception Group" not in out and "Reproduce with" not in out and SECRET not in out
    assert len(out.splitlines()) < 25, out
    failure = next(junit(report).iter("failure"))
    assert failure.text.count("[MLC101 samples_match_outputs]") == 1 and "reproduce: curl" in failure.text
    served = serve_wsgi(corrupt(make_app(strict=True, processing_ratio=0.0, models=("*",)), _status_done))
    result = contracts("run", "--target", served.url, "--key", SECRET, "--max-examples", "5",
                       "-k", "inpaint and positive and not realtime and not v7")
    out = result.stdout
    assert result.returncode == 1 and "] Response violates schema" in out, out
    assert out.count("reproduce: curl -X POST") == 1 and "Exception Group" not in out and SECRET not in out


def test_the_real_api_without_a_key_tested_nothing_so_it_fails_unless_allowed(tmp_path):
    report = tmp_path / "real.xml"
    result = contracts("run", "--target", "real", "--junit-xml", str(report))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "MODELSLAB_API_KEY is not set: real-API contract tests need a key (they spend at most 5 calls)" in result.stdout
    assert "nothing was tested (every test was skipped)" in result.stdout and "--allow-skip" in result.stdout
    suite = junit(report)
    assert suite.get("skipped") == suite.get("tests") != "0"
    allowed = contracts("run", "--target", "real", "--allow-skip")
    assert allowed.returncode == 0 and "nothing was tested" not in allowed.stdout, allowed.stdout


def test_the_real_api_budget_is_printed_as_spent_and_never_exceeded(make_app, serve_wsgi, tmp_path):
    """A local mock stands in for modelslab.com; the run may send it exactly --budget calls."""
    app = make_app(processing_ratio=0.0)
    stand_in = serve_wsgi(app)
    report = tmp_path / "real.xml"
    result = contracts("run", "--target", "real", "--budget", "1", "--junit-xml", str(report),
                       env={"MODELSLAB_API_KEY": SECRET, "CONTRACTS_REAL_BASE_URL": stand_in.url + "/api"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "real API call 1/1: POST /v6/images/inpaint" in result.stderr
    assert "real API call 2/" not in result.stderr
    assert "real API calls spent: 1/1" in result.stdout
    assert "real API call budget spent (1/1 calls used)" in result.stdout  # the skip reason of the next test
    received = MockAdmin(stand_in.url, RequestsTransport()).requests()
    api_calls = [entry.get("operation") for entry in received if entry.get("operation") != "image"]
    assert api_calls == ["v6ImagesInpaint"]  # exactly one (charged) API call got out; image GETs are free
    for text in (result.stdout, result.stderr, report.read_text()):
        assert SECRET not in text


def test_unusable_targets_are_usage_errors():
    result = contracts("run", "--target", "not a target")
    assert result.returncode == 2 and "not a target URL" in result.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = contracts("run", "--target", f"http://127.0.0.1:{port}")
    assert result.returncode == 2 and f"cannot reach http://127.0.0.1:{port}/api" in result.stderr


def test_wsgi_targets_name_an_app_or_a_factory(tmp_path, monkeypatch):
    (tmp_path / "my_mock.py").write_text(
        "from mockserver import MockConfig, create_app\n"
        "def make():\n    return create_app(MockConfig(strict=True, store='memory'))\n"
        "app = make()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert callable(_wsgi_app("wsgi:my_mock:app"))
    with target_from_spec(RunOptions(target="wsgi:my_mock:make()")) as target:
        assert target.name == "wsgi" and target.is_mock and target.strict is True
    with pytest.raises(TargetError, match="wsgi:package.module:attribute"):
        _wsgi_app("wsgi:my_mock")


def test_a_wrong_flag_prints_the_run_usage_and_the_closest_flag(capsys):
    from contracts.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "--max-exampls", "3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: contracts run ") and "--max-exampls -> --max-examples?" in err
