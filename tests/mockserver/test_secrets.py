"""Secrets and exposure: an API key never leaves the process; the admin API is guarded off loopback.

One distinctive key is sent through every path a request can take (valid, refused, rejected by
the key table, a fault, a webhook, a broken body, an output GET, admin calls) and then looked
for in every sink: response bodies and headers, the journal, the webhook log and its payloads,
the webhook receiver's copy, admin answers, and everything the server process logged.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from mockserver.web import serve as serve_module
from mockserver.images.netpolicy import is_loopback_bind
from mockserver.web.admin import ensure_admin_token, presented_token
from mockserver.config import KeyRule, MockConfig, load_config
from mockserver.control.receiver import WebhookReceiver

from live_mock import HTTP_TIMEOUT, STARTUP_TIMEOUT

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
SECRET = "sk-LEAKCANARY-7f3a9c2e41d8b6"  # nothing else in the mock contains this text
REFUSED = "sk-REFUSEDCANARY-55e0a1b2c3"


def _all_text(client) -> str:
    """Everything the admin API will show about past requests and webhooks."""
    parts = []
    for path in ("/__mock/requests", "/__mock/webhooks", "/__mock/rules", "/__mock/health", "/__mock/clock",
                 f"/__mock/requests?key={SECRET}", f"/__mock/webhooks?key={SECRET}"):
        parts.append(client.get(path).get_data(as_text=True))
    parts.append(client.post("/__mock/requests/count", json={"key": SECRET, "expect": 99}).get_data(as_text=True))
    return "\n".join(parts)


def test_a_distinctive_key_appears_in_no_sink_whatever_path_the_request_takes(make_app, valid_body, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(processing_ratio=0.0, keys={REFUSED: KeyRule(valid=False)}, webhook_backoff=0.01,
                   webhook_retries=0, validate_responses=True)
    client = app.test_client()
    seen: list[str] = []

    def send(body, raw: bytes | None = None, **headers):
        answer = client.post(INPAINT, data=raw if raw is not None else json.dumps(body),
                             content_type="application/json", headers=headers)
        seen.append(answer.get_data(as_text=True) + json.dumps(dict(answer.headers)))
        return answer

    with WebhookReceiver() as hook, WebhookReceiver(default_status=500) as failing:
        body = dict(valid_body, key=SECRET, track_id="t-1", webhook=hook.url)
        made = send(body, Prefer="variant=success").json
        send(dict(body, webhook=failing.url))  # a failing receiver: errors recorded
        send(dict(body, key=REFUSED))  # refused by the key table
        send(dict(body, width=3))  # a validation error
        send(body, Prefer="variant=error, error=rate_limit")
        send(body, Prefer="fault=outage")
        send(body, Prefer="fault=truncated")
        send(body, Prefer="bogus=1")
        send(dict(body, init_image="http://169.254.169.254/latest/meta-data/"))  # SSRF refusal
        send({}, raw=b'{"key": "' + SECRET.encode() + b'", "broken": ')  # malformed JSON
        send({}, raw=b'{"key": "' + SECRET.encode() + b'", "x": "\xff"}')  # not UTF-8
        send({}, raw=b'{"key": "' + SECRET.encode() + b'", "key": "other"}')  # duplicate key
        seen.append(client.post(f"{FETCH}/{made['id']}", json={"key": SECRET}).get_data(as_text=True))
        seen.append(client.post(FETCH, json={"key": SECRET, "request_id": "999"}).get_data(as_text=True))
        seen.append(json.dumps(dict(client.get(urlsplit(made["output"][0]).path).headers)))
        client.post("/__mock/rules", json={"key": SECRET, "operation": "inpaint",
                                           "respond": {"variant": "error"}, "times": 1})
        send(body)
        # the key echoed where no field name marks it secret: masked in the journal too
        send(dict(body, prompt=f"echo {SECRET} please", track_id=f"t-{SECRET}",
                  webhook=f"{hook.url}?token={SECRET}"), **{"X-Debug": SECRET})
        assert client.post("/__mock/webhooks/wait", json={"timeout": 10}).json["idle"]
        hook.wait_for(1)
        delivered = hook.deliveries[0].body.decode("utf-8", "replace")

    assert client.get("/__mock/requests", query_string={"key": SECRET}).json["count"] >= 12
    store = app.extensions["modelslab_mock"].store
    sinks = {
        "responses": "\n".join(seen[:-1]),  # the last one echoes the prompt it was sent, as the service does
        "a webhook body": delivered,
        "admin answers": _all_text(client),
        "logs": caplog.text,
        "the journal": json.dumps(store.entries("requests")),
        "the webhook log": json.dumps([{k: v for k, v in e.items() if k != "payload"}
                                       for e in store.entries("webhooks")]),
    }
    for name, text in sinks.items():
        assert SECRET not in text, f"the API key leaked into {name}"
        assert REFUSED not in text, f"the refused API key leaked into {name}"


def _admin_client(make_app, token="s3cret-admin-token"):
    return make_app(admin_token=token).test_client()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Mock-Admin-Token": "wrong"},
                                     {"Authorization": "Basic czNjcmV0LWFkbWluLXRva2Vu"}])
def test_with_an_admin_token_the_admin_api_refuses_calls_without_it(make_app, headers):
    client = _admin_client(make_app)
    for method, path in (("GET", "/__mock/requests"), ("POST", "/__mock/reset"), ("POST", "/__mock/rules"),
                         ("POST", "/__mock/clock"), ("GET", "/__mock/health")):
        answer = client.open(path, method=method, json={"advance": 1}, headers=headers)
        assert answer.status_code == 401, (method, path)
        assert answer.json["status"] == "error" and "admin token" in answer.json["message"]
        assert "s3cret" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer s3cret-admin-token"},
                                     {"authorization": "bearer  s3cret-admin-token "},
                                     {"X-Mock-Admin-Token": "s3cret-admin-token"}])
def test_with_the_admin_token_the_admin_api_works_and_the_api_itself_needs_none(make_app, valid_body, headers):
    client = _admin_client(make_app)
    assert client.post("/__mock/clock", json={"advance": 5}, headers=headers).status_code == 200
    assert client.get("/__mock/requests", headers=headers).json["count"] == 0
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"  # the API is not gated


def test_without_an_admin_token_the_loopback_admin_api_stays_open(client):
    assert client.get("/__mock/health").status_code == 200


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("LOCALHOST", True), ("::1", True), ("[::1]", True), (" [::1] ", True),
    ("::1%lo", True), ("[::1%lo]", True), ("127.8.9.10", True), ("0.0.0.0", False), ("::", False), ("", False),
    ("192.168.1.4", False), ("10.0.0.1", False), ("example.org", False), ("localhost.example.org", False),
])
def test_which_binds_are_loopback(host, loopback):
    """One answer for the admin token, the start-up note and the image fetcher's network policy."""
    assert is_loopback_bind(host) is loopback
    token, generated = ensure_admin_token(host, None)
    assert (token is None) is loopback and generated is (not loopback)
    assert ensure_admin_token(host, "mine") == ("mine", False)


def test_one_loopback_predicate_decides_for_the_admin_token_the_note_and_image_fetches():
    """Two copies drift apart (one learnt IPv6 scopes, the other not): admin and serve use netpolicy's."""
    from mockserver.images import netpolicy
    from mockserver.web import admin

    assert admin.is_loopback_bind is netpolicy.is_loopback_bind is serve_module.is_loopback_bind
    assert not hasattr(admin, "is_loopback_host") and not hasattr(serve_module, "_is_loopback")


def test_a_scoped_ipv6_loopback_bind_is_loopback_for_the_admin_api_as_for_image_fetches(monkeypatch, capsys):
    """``::1%lo`` keeps the mock to this machine: no token is generated and the note says loopback,
    as the network policy (which lets image URLs reach loopback then) already said."""
    from mockserver.images.netpolicy import NetPolicy

    used = _start_without_binding(monkeypatch, MockConfig(host="::1%lo", store="memory", port=4999))
    assert used["config"].admin_token is None and "bound to loopback (::1%lo)" in capsys.readouterr().out
    assert NetPolicy.for_bind(["localhost"], "::1%lo", default=True).allow_hosts == ("localhost",)


def test_generated_tokens_are_long_and_fresh():
    tokens = {ensure_admin_token("0.0.0.0", None)[0] for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 24 for t in tokens)


def test_presented_token_reads_both_header_forms():
    assert presented_token({"Authorization": "Bearer abc"}) == "abc"
    assert presented_token({"X-Mock-Admin-Token": " abc "}) == "abc"
    assert presented_token({"Authorization": "Basic abc"}) is None
    assert presented_token({}) is None


def test_the_admin_token_comes_from_the_environment_and_is_never_in_the_config_repr():
    config = load_config(cli={}, environ={"MOCKSERVER_ADMIN_TOKEN": "tok-from-env"})
    assert config.admin_token == "tok-from-env"
    assert "tok-from-env" not in repr(config)


def _start_without_binding(monkeypatch, config):
    """Run ``serve`` up to the point the server would listen, and return what it printed and used."""
    used = {}

    def fake_run(state, config, on_ready):
        used["config"] = config
        used["app"] = serve_module.front_app(state).app  # the WSGI app the front serves
        on_ready()

    monkeypatch.setattr(serve_module, "_run_granian", fake_run)
    assert serve_module.serve(config) == 0
    return used


def test_a_non_loopback_bind_generates_a_token_says_so_and_enforces_it(monkeypatch, capsys, tmp_path):
    used = _start_without_binding(monkeypatch, MockConfig(host="0.0.0.0", store="memory", port=4999))
    out = capsys.readouterr().out
    token = used["config"].admin_token
    assert token and "non-loopback" in out and "WARNING" in out and token in out
    client = used["app"].test_client()
    assert client.get("/__mock/health").status_code == 401
    assert client.get("/__mock/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_configured_token_is_required_but_never_printed(monkeypatch, capsys):
    _start_without_binding(monkeypatch, MockConfig(host="0.0.0.0", store="memory", admin_token="given-tok-123"))
    out = capsys.readouterr().out
    assert "requires the configured admin token" in out and "given-tok-123" not in out


def test_the_default_bind_is_loopback_and_says_so(monkeypatch, capsys):
    used = _start_without_binding(monkeypatch, MockConfig(store="memory"))
    assert used["config"].host == "127.0.0.1" and used["config"].admin_token is None
    assert "bound to loopback" in capsys.readouterr().out




def test_a_real_server_writes_the_key_to_no_log(tmp_path, valid_body):
    """The server as users run it: everything granian, its workers and the mock print."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "mock.toml"
    config.write_text(f'[keys."{REFUSED}"]\nvalid = false\n')
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log, WebhookReceiver(default_status=500) as failing:
        proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--port", str(port), "--workers", "2",
                                 "--store", f"sqlite:///{tmp_path / 's.sqlite3'}", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                try:
                    if requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 200:
                        break
                except requests.RequestException:  # not up yet, or slow on a busy machine
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.05)
            body = dict(valid_body, key=SECRET, webhook=failing.url)
            made = requests.post(url + INPAINT + f"?key={SECRET}", json=body, timeout=HTTP_TIMEOUT).json()
            requests.post(url + INPAINT, json=dict(body, key=REFUSED), timeout=HTTP_TIMEOUT)
            requests.post(url + INPAINT, json=dict(body, width=3), timeout=HTTP_TIMEOUT)
            requests.post(url + INPAINT, data=b'{"key": "' + SECRET.encode() + b'", ', timeout=HTTP_TIMEOUT,
                          headers={"Content-Type": "application/json"})
            for fault in ("outage", "truncated", "rate_limit"):
                requests.post(url + INPAINT, json=body, headers={"Prefer": f"fault={fault}"}, timeout=HTTP_TIMEOUT)
            try:
                requests.post(url + INPAINT, json=body, headers={"Prefer": "fault=reset"}, timeout=HTTP_TIMEOUT)
            except requests.RequestException:
                pass  # the connection is dropped on purpose
            requests.post(f"{url}{FETCH}/{made['id']}", json={"key": SECRET}, timeout=HTTP_TIMEOUT)
            requests.get(url + "/__mock/requests", params={"key": SECRET}, timeout=HTTP_TIMEOUT)
            requests.post(url + "/__mock/webhooks/wait", json={"timeout": 10}, timeout=HTTP_TIMEOUT)
            requests.get(url + f"/__mock/no-such-route?key={SECRET}", timeout=HTTP_TIMEOUT)
            requests.get(url + f"/generations/{SECRET}.png", timeout=HTTP_TIMEOUT)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    text = log_path.read_text()
    assert "modelslab-mock on http://127.0.0.1" in text and "bound to loopback" in text
    assert SECRET not in text and REFUSED not in text, text


def test_a_real_server_with_an_admin_token_refuses_admin_calls_without_it(tmp_path, valid_body):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--port", str(port), "--workers", "2",
                             "--store", f"sqlite:///{tmp_path / 's.sqlite3'}", "--admin-token", "tok-live-42"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:  # the API answers as soon as the server is up; no token is needed for it
            try:
                answer = requests.post(url + INPAINT, json=valid_body, timeout=HTTP_TIMEOUT)
                if answer.status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or slow on a busy machine
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the mock did not come up"
            time.sleep(0.05)
        for _ in range(6):  # new connections: both workers, before and after their admin routes load
            bare = requests.get(url + "/__mock/requests", headers={"Connection": "close"}, timeout=HTTP_TIMEOUT)
            assert bare.status_code == 401 and bare.json()["status"] == "error"
            assert requests.post(url + "/__mock/reset", headers={"Connection": "close"}, timeout=HTTP_TIMEOUT).status_code == 401
        good = requests.get(url + "/__mock/requests", headers={"Authorization": "Bearer tok-live-42"}, timeout=HTTP_TIMEOUT)
        assert good.status_code == 200 and good.json()["count"] >= 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "requires the configured admin token" in out and "tok-live-42" not in out


def test_the_admin_token_sent_with_api_calls_is_masked_in_the_journal(make_app, valid_body):
    """Clients often send one set of headers with every call: the admin token must not be kept."""
    client = _admin_client(make_app)
    token = {"X-Mock-Admin-Token": "s3cret-admin-token"}
    client.post(INPAINT, json=valid_body, headers=token)
    client.post(INPAINT, json=valid_body, headers={"Authorization": "Bearer s3cret-admin-token"})
    journal = client.get("/__mock/requests", headers=token).get_data(as_text=True)
    assert json.loads(journal)["count"] == 2 and "s3cret" not in journal


@pytest.mark.parametrize("url", [f"/generations/{SECRET}", f"/generations/{SECRET}.png",
                                 f"/generations/nope.png?key={SECRET}&x=1"])
def test_a_key_in_an_output_url_is_masked_in_the_journal_as_on_the_console(make_app, url):
    """A client that puts its key in a /generations/ URL (a path segment or ``?key=``) finds it
    in no sink: the journal entry, the inspector's explain answer and curl line show the path
    exactly as the console line does (``***`` for a key-like segment of a 404 nobody owns)."""
    import io

    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from mockserver.web.access_log import AccessLog

    app = make_app(processing_ratio=0.0)
    console = io.StringIO()
    log = AccessLog(app, console, "json", colour=False)
    client = Client(log, Response)
    answer = client.get(url)
    assert answer.status_code == 404
    log.drain()
    [entry] = client.get("/__mock/requests").json["requests"]
    line = json.loads(console.getvalue().splitlines()[0])
    assert entry["path"] == line["path"].replace("x=***", "x=1")  # one masking; only the console hides x
    assert entry["path"].startswith("/generations/") and "***" in entry["path"]
    explained = client.get(f"/__mock/requests/{entry['seq']}/explain").get_data(as_text=True)
    assert SECRET not in json.dumps(entry) and SECRET not in explained and SECRET not in console.getvalue()
    assert SECRET not in _all_text(app.test_client())
