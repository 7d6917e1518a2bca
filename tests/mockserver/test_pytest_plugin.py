"""The pytest plugin, as a user gets it by installing the package.

The plugin arrives through the ``pytest11`` entry point, in this session too, so most fixtures
are used directly below. What must not happen inside this session (a test failing because the
mock broke, runs with a real key) runs in a separate pytest session in a temporary folder,
whose outcomes are read from its JUnit report.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from contracts.run.targets import cheapest_inpaint_body

BODY = {**cheapest_inpaint_body(), "key": "user-key"}


def test_the_plugin_is_registered_for_pytest():
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.name == "modelslab_mock" and ep.value == "mockserver.pytest_plugin" for ep in entry_points)


def test_live_mock_and_request_count(mock_server):
    answer = requests.post(mock_server.url + "/inpaint", json=BODY, timeout=5).json()
    assert answer["status"] == "success"
    mock_server.assert_requests(1, operation="inpaint", key="user-key")


def test_each_test_starts_from_a_reset_mock(mock_server):
    assert mock_server.count_requests(operation="inpaint") == 0  # the request above is forgotten


def test_in_process_app(mock_app):
    assert mock_app.test_client().post("/api/v6/images/inpaint", json=BODY).get_json()["status"] == "success"


def _job_lifecycle(target, checker):
    queued = checker.assert_ok(target.post("/v6/images/inpaint", cheapest_inpaint_body(),
                                           prefer="variant=processing, eta=5"))
    assert target.advance_clock(6)
    done = checker.assert_ok(target.post(f"/v6/images/fetch/{queued.response_body['id']}", {}))
    assert done.response_body["status"] == "success"


def test_contract_target_is_the_live_mock_by_default(contract_target, contract_checker, mock_server):
    # mock_server.url is the v6 images API (a client's base URL); the contract target serves the whole spec
    assert contract_target.base_url == mock_server.root_url + "/api" and contract_target.is_mock
    _job_lifecycle(contract_target, contract_checker)


@pytest.mark.contract_target("inprocess")
def test_contract_target_in_process(contract_target, contract_checker):
    assert contract_target.app is not None and contract_target.name == "wsgi"
    _job_lifecycle(contract_target, contract_checker)


def test_wait_for_a_webhook(mock_server):
    got = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        body = {**BODY, "webhook": f"http://127.0.0.1:{server.server_port}/hook", "track_id": "t-9"}
        requests.post(mock_server.url + "/inpaint", json=body, timeout=5)
        [delivery] = mock_server.wait_for_webhook("t-9", timeout=10)
        assert str(delivery["track_id"]) == "t-9" and got[0]["track_id"] == "t-9"
    finally:
        server.shutdown()
        server.server_close()


USER_TESTS = textwrap.dedent('''
    import pytest
    import requests

    from contracts.run.targets import cheapest_inpaint_body


    def test_a_mock_bug_fails_the_test(mock_server, monkeypatch):
        from mockserver.web.context import mock_state

        def boom(*args, **kwargs):
            raise RuntimeError("simulated bug inside the mock")

        monkeypatch.setattr(mock_state(mock_server.app).engine, "record", boom)
        body = {**cheapest_inpaint_body(), "key": "k"}
        assert requests.post(mock_server.url + "/inpaint", json=body, timeout=5).status_code == 500


    @pytest.mark.contract_target("real")
    def test_real_calls(contract_target):
        contract_target.post("/v6/images/inpaint", cheapest_inpaint_body())
        contract_target.post("/v6/images/inpaint", cheapest_inpaint_body())
''')


def run_user_suite(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    report = tmp_path / "report.xml"
    environ = {k: v for k, v in os.environ.items() if k not in ("MODELSLAB_API_KEY", "CONTRACTS_REAL_BASE_URL")}
    environ.update(env or {})
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_user.py",
                             f"--junit-xml={report}", *args], cwd=tmp_path, capture_output=True, text=True,
                            env=environ, timeout=120)
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child for child in case if child.tag in ("failure", "error", "skipped")]
        text = (kinds[-1].get("message", "") + (kinds[-1].text or "")) if kinds else ""
        outcomes[case.get("name")] = (kinds[-1].tag if kinds else "passed", text)
    return outcomes, result


def test_a_mock_bug_fails_its_test_and_real_targets_skip_without_a_key(tmp_path):
    outcomes, _ = run_user_suite(tmp_path)
    outcome, text = outcomes["test_a_mock_bug_fails_the_test"]
    assert outcome == "error" and "the mock failed while answering" in text and "simulated bug" in text
    outcome, reason = outcomes["test_real_calls"]
    assert outcome == "skipped" and "MODELSLAB_API_KEY is not set" in reason


def test_a_spent_real_budget_skips_the_test_and_the_key_never_shows(tmp_path, make_app):
    """A local mock stands in for modelslab.com; with a budget of 1 the second call is refused."""
    stand_in = make_server("127.0.0.1", 0, make_app(processing_ratio=0.0), threaded=True)
    threading.Thread(target=stand_in.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        env = {"MODELSLAB_API_KEY": "sk-plugin-secret-42",
               "CONTRACTS_REAL_BASE_URL": f"http://127.0.0.1:{stand_in.server_port}/api"}
        outcomes, result = run_user_suite(tmp_path, "-k", "real_calls", "--contract-budget", "1", env=env)
    finally:
        stand_in.shutdown()
        stand_in.server_close()
    outcome, reason = outcomes["test_real_calls"]
    assert outcome == "skipped" and "budget spent (1/1 calls used); not sending POST /v6/images/inpaint" in reason
    assert "real API call 1/1: POST /v6/images/inpaint" in result.stderr
    assert "sk-plugin-secret-42" not in result.stdout + result.stderr + (tmp_path / "report.xml").read_text()
